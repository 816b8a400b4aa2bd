/**
 * int-matmul: C = alpha · sa · sb · (A − za)(B − zb)ᵀ (+ bias) on byte codes packed four per u32
 * word along the reduction axis (quantize-codes' format), accumulated exactly in integers.
 * Serves the integer pipeline's q·kᵀ and attn·v; see `qkScoresOptions` and `attnValuesOptions`.
 */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';
import { wordsFor } from './quantize-codes.js';

export const intMatmulKernel: KernelDescriptor = {
  name: 'int-matmul',
  entryPoint: 'main',
  storage: [
    { name: 'a', access: 'read' },
    { name: 'b', access: 'read' },
    { name: 'scale_a', access: 'read' },
    { name: 'zero_a', access: 'read' },
    { name: 'scale_b', access: 'read' },
    { name: 'zero_b', access: 'read' },
    { name: 'bias', access: 'read' },
    { name: 'c', access: 'read_write' },
  ],
  uniforms: [
    ...[
      'M', 'N', 'K', 'words', 'batch', 'inner', 'tiles_m', 'tiles_n',
      'a_off', 'a_rs', 'a_bs', 'a_is',
      'b_off', 'b_rs', 'b_bs', 'b_is',
      'c_off', 'c_rs', 'c_bs', 'c_is',
      'sa_rs', 'sa_bs', 'sa_is', 'sb_cs', 'sb_bs', 'sb_is',
      'za_bs', 'za_is', 'zb_bs', 'zb_is',
    ].map((name) => ({ name, type: 'u32' as const })),
    { name: 'alpha', type: 'f32' },
  ],
  overrides: { WG: 64, HAS_BIAS: 0 },
  variant: { languageFeature: 'packed_4x8_integer_dot_product', polyfill: 'dot4-portable' },
  // As matmul: each operand's code words read once, C written once, plus the quantizer tables.
  cost: ({ uniforms: u, bufferBytes: b }) => {
    const products = (batchStride: number, innerStride: number) => (batchStride ? u.batch / u.inner : 1) * (innerStride ? u.inner : 1);
    return {
      flops: 2 * u.M * u.N * u.K * u.batch,
      bytes: 4 * (u.words * (u.M * products(u.a_bs, u.a_is) + u.N * products(u.b_bs, u.b_is)) + u.M * u.N * u.batch) + b[2] + b[3] + b[4] + b[5] + b[6],
    };
  },
};

/**
 * One operand: rows of packed codes (row r of product z = zo·inner + zi starts at word
 * offset + zo·batchStride + zi·innerStride + r·rowStride and holds ceil(K/4) words), with its
 * quantizer. The row's scale is scale[zo·scaleBatchStride + zi·scaleInnerStride + r·scaleStride];
 * the zero-point (f32 holding an integer in [0, 2^bits − 1]) is
 * zeroPoint[zo·zeroPointBatchStride + zi·zeroPointInnerStride].
 */
export interface CodeOperand {
  tensor: Tensor;
  offset?: number;
  rowStride: number;
  batchStride?: number;
  innerStride?: number;
  scale: Tensor;
  scaleStride: number;
  scaleBatchStride?: number;
  scaleInnerStride?: number;
  zeroPoint: Tensor;
  zeroPointBatchStride?: number;
  zeroPointInnerStride?: number;
}

export interface IntMatmulOptions {
  M: number;
  N: number;
  /** True reduction length (codes per row), not the word count. */
  K: number;
  /** Code width of both operands, for the overflow check; default 8. */
  bits?: number;
  /** Number of products (outer * inner). */
  batch?: number;
  /** Size of the inner batch dimension (e.g. heads); default 1. */
  inner?: number;
  /** Rows m of A[z], each K codes. */
  a: CodeOperand;
  /** Rows n of B[z], each K codes (so C = A·Bᵀ). */
  b: CodeOperand;
  /** f32 output; element (z, m, n) at offset + zo·batchStride + zi·innerStride + m·rowStride + n. */
  c: { tensor: Tensor; offset?: number; rowStride: number; batchStride?: number; innerStride?: number };
  bias?: Tensor;
  alpha?: number;
}

/** Largest K whose accumulator the kernel keeps exact at this code width (|acc| <= K·qmax² < 2^31). */
export function maxExactK(bits: number): number {
  return Math.floor((2 ** 31 - 1) / (2 ** bits - 1) ** 2);
}

/** Records C = alpha · sa · sb · Σ_k (A − za)(B − zb) (+ bias). */
export function intMatmul(ctx: GpuContext, o: IntMatmulOptions): void {
  const batch = o.batch ?? 1;
  const inner = o.inner ?? 1;
  const bits = o.bits ?? 8;
  if (batch % inner !== 0) throw new Error(`int-matmul: batch ${batch} is not a multiple of inner ${inner}`);
  if (!Number.isInteger(bits) || bits < 1 || bits > 8) throw new Error(`int-matmul: ${bits}-bit codes do not fit a byte`);
  if (o.K > maxExactK(bits)) throw new Error(`int-matmul: K=${o.K} overflows the 32-bit accumulator at ${bits} bits (at most ${maxExactK(bits)})`);
  for (const [name, t] of [['a', o.a.tensor], ['b', o.b.tensor]] as const) {
    if (t.dtype !== 'u32') throw new Error(`int-matmul: operand ${name} holds ${t.dtype}, not packed u32 codes`);
  }
  if (batch === 0 || o.M === 0 || o.N === 0) return;
  const tilesM = Math.ceil(o.M / 8);
  const tilesN = Math.ceil(o.N / 8);
  const { a, b, c } = o;
  ctx.dispatch(
    intMatmulKernel,
    {
      M: o.M, N: o.N, K: o.K, words: wordsFor(o.K), batch, inner, tiles_m: tilesM, tiles_n: tilesN,
      a_off: a.offset ?? 0, a_rs: a.rowStride, a_bs: a.batchStride ?? 0, a_is: a.innerStride ?? 0,
      b_off: b.offset ?? 0, b_rs: b.rowStride, b_bs: b.batchStride ?? 0, b_is: b.innerStride ?? 0,
      c_off: c.offset ?? 0, c_rs: c.rowStride, c_bs: c.batchStride ?? 0, c_is: c.innerStride ?? 0,
      sa_rs: a.scaleStride, sa_bs: a.scaleBatchStride ?? 0, sa_is: a.scaleInnerStride ?? 0,
      sb_cs: b.scaleStride, sb_bs: b.scaleBatchStride ?? 0, sb_is: b.scaleInnerStride ?? 0,
      za_bs: a.zeroPointBatchStride ?? 0, za_is: a.zeroPointInnerStride ?? 0,
      zb_bs: b.zeroPointBatchStride ?? 0, zb_is: b.zeroPointInnerStride ?? 0,
      alpha: o.alpha ?? 1,
    },
    [a.tensor, b.tensor, a.scale, a.zeroPoint, b.scale, b.zeroPoint, o.bias ?? ctx.placeholder, c.tensor],
    gridFor(batch * tilesM * tilesN, intMatmulKernel.overrides.WG),
    { HAS_BIAS: o.bias ? 1 : 0 },
  );
}

/** Packed codes of one attention operand with its quantizer tensors (the quantized-model file's shapes). */
export interface QuantizedCodes {
  codes: Tensor;
  scale: Tensor;
  zeroPoint: Tensor;
}

export interface AttentionDims {
  batch: number;
  heads: number;
  tokens: number;
  headDim: number;
  bits?: number;
}

/**
 * Options for the scores S[b, h] = hd^-0.5 · q·kᵀ into [B, H, T, T], from q and k packed by
 * packedQkvPerHeadToken ([B, H, T, ceil(hd/4)], scales [H, T], zero-points [H]).
 */
export function qkScoresOptions(d: AttentionDims, q: QuantizedCodes, k: QuantizedCodes, scores: Tensor): IntMatmulOptions {
  const { batch, heads, tokens: T, headDim } = d;
  const words = wordsFor(headDim);
  const operand = (x: QuantizedCodes): CodeOperand => ({
    tensor: x.codes, rowStride: words, innerStride: T * words, batchStride: heads * T * words,
    scale: x.scale, scaleStride: 1, scaleInnerStride: T,
    zeroPoint: x.zeroPoint, zeroPointInnerStride: 1,
  });
  return {
    M: T, N: T, K: headDim, bits: d.bits, batch: batch * heads, inner: heads,
    a: operand(q), b: operand(k),
    c: { tensor: scores, rowStride: T, innerStride: T * T, batchStride: heads * T * T },
    alpha: headDim ** -0.5,
  };
}

/**
 * Options for the context out[b, t, h·hd + c] = Σ_s A[b, h, t, s] · v[b, s, h·hd + c] with heads
 * merged into [B, T, D], from the map packed by packedAttentionPerHeadRow ([B, H, T, ceil(T/4)],
 * scales [H, T]) and v by packedQkvPerHeadChannelTransposed ([B, H, hd, ceil(T/4)], scales [H, hd]).
 */
export function attnValuesOptions(d: AttentionDims, map: QuantizedCodes, v: QuantizedCodes, out: Tensor): IntMatmulOptions {
  const { batch, heads, tokens: T, headDim } = d;
  const words = wordsFor(T);
  const dim = heads * headDim;
  return {
    M: T, N: headDim, K: T, bits: d.bits, batch: batch * heads, inner: heads,
    a: {
      tensor: map.codes, rowStride: words, innerStride: T * words, batchStride: heads * T * words,
      scale: map.scale, scaleStride: 1, scaleInnerStride: T,
      zeroPoint: map.zeroPoint, zeroPointInnerStride: 1,
    },
    b: {
      tensor: v.codes, rowStride: words, innerStride: headDim * words, batchStride: heads * headDim * words,
      scale: v.scale, scaleStride: 1, scaleInnerStride: headDim,
      zeroPoint: v.zeroPoint, zeroPointInnerStride: 1,
    },
    c: { tensor: out, rowStride: dim, innerStride: headDim, batchStride: T * dim },
  };
}
