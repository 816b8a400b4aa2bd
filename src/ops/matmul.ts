/**
 * matmul: strided, batched C = alpha * A.B (+ bias). `linear` is the nn.Linear case Y = X.W^T + b.
 */
import type { GpuContext, RowTexture, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';
import { matmulTexture } from './matmul-texture.js';
import { sumSlices } from './sum-slices.js';
import { transpose } from './transpose.js';

export const matmulKernel: KernelDescriptor = {
  name: 'matmul',
  entryPoint: 'main',
  storage: [
    { name: 'a', access: 'read' },
    { name: 'b', access: 'read' },
    { name: 'bias', access: 'read' },
    { name: 'c', access: 'read_write' },
  ],
  uniforms: [
    ...['M', 'N', 'K', 'k_last', 'batch', 'inner', 'tiles_m', 'tiles_n', 'a_off', 'a_rs', 'a_cs', 'a_bs', 'a_is', 'b_off', 'b_rs', 'b_cs', 'b_bs', 'b_is', 'c_off', 'c_rs', 'c_bs', 'c_is'].map(
      (name) => ({ name, type: 'u32' as const }),
    ),
    { name: 'alpha', type: 'f32' },
  ],
  overrides: { WG: 64, HAS_BIAS: 0, ACCUMULATE: 0 },
  libraries: ['matmul-store'],
  // Each operand read once (an operand with zero batch strides is shared by the products) and C
  // written once (read too when accumulating): the least traffic, as if every reuse hit on-chip memory.
  cost: ({ uniforms: u, overrides: o }) => {
    const products = (batchStride: number, innerStride: number) => (batchStride ? u.batch / u.inner : 1) * (innerStride ? u.inner : 1);
    return {
      flops: 2 * u.M * u.N * (u.K * (u.batch - 1) + u.k_last),
      bytes: 4 * (u.M * u.K * products(u.a_bs, u.a_is) + u.K * u.N * products(u.b_bs, u.b_is) + (o.ACCUMULATE ? 2 : 1) * u.M * u.N * u.batch + (o.HAS_BIAS ? u.N : 0)),
    };
  },
};

/**
 * Where an operand lives: element offset and strides in its buffer. The batch index splits into
 * outer * inner + innerIndex (see `MatmulOptions.inner`), with a stride for each part.
 */
export interface Operand {
  tensor: Tensor;
  offset?: number;
  rowStride: number;
  colStride: number;
  batchStride?: number;
  innerStride?: number;
}

export interface MatmulOptions {
  M: number;
  N: number;
  K: number;
  /** Number of products (outer * inner). */
  batch?: number;
  /** Size of the inner batch dimension (e.g. heads); default 1. */
  inner?: number;
  a: Operand;
  b: Operand;
  c: { tensor: Tensor; offset?: number; rowStride: number; batchStride?: number; innerStride?: number };
  bias?: Tensor;
  alpha?: number;
  /** C += A.B, the sums continuing from C's values (so a product over K can be split into ranges); no alpha or bias. */
  accumulate?: boolean;
  /**
   * false: never split K (kSlices), so each output element is one running sum over K whatever M
   * is, and a row's result does not depend on how many rows come with it (calibration's chunks).
   */
  splitK?: boolean;
}

/** Shorter slices would write more partial products than they save. */
const MIN_SLICE_K = 32;

/** 8x8 tiles along a side of C: one invocation each. */
const tilesOf = (n: number) => Math.ceil(n / 8);

/**
 * The K-slices a product runs as (count 1: not split). A dispatch of fewer than `fillWorkgroups`
 * workgroups (the context's: 64 on a GPU) leaves most of the device idle, so a single product with
 * few output tiles but a long K (a weight gradient summed over every token of a batch, the head's
 * products) is split into slices that run side by side: enough for `fillWorkgroups` workgroups,
 * each at least MIN_SLICE_K long. A function of the shape and that number alone, so results repeat
 * run to run on a device and on every device of the same kind.
 */
export function kSlices(o: Pick<MatmulOptions, 'M' | 'N' | 'K' | 'batch' | 'accumulate' | 'splitK'>, fillWorkgroups: number): { count: number; sliceK: number } {
  const whole = { count: 1, sliceK: o.K };
  if ((o.batch ?? 1) !== 1 || o.accumulate || o.splitK === false) return whole;
  const tiles = tilesOf(o.M) * tilesOf(o.N);
  const wg = matmulKernel.overrides.WG;
  if (Math.ceil(tiles / wg) >= fillWorkgroups || o.K < 2 * MIN_SLICE_K) return whole;
  const wanted = Math.ceil((fillWorkgroups * wg) / tiles);
  const sliceK = Math.max(MIN_SLICE_K, Math.floor(o.K / wanted));
  return { count: Math.ceil(o.K / sliceK), sliceK };
}

export function matmul(ctx: GpuContext, o: MatmulOptions): void {
  const batch = o.batch ?? 1;
  const inner = o.inner ?? 1;
  if (batch % inner !== 0) throw new Error(`matmul: batch ${batch} is not a multiple of inner ${inner}`);
  if (o.accumulate && (o.bias || (o.alpha ?? 1) !== 1)) throw new Error('matmul: accumulate takes no bias and no alpha');
  const sources = textureSources(ctx, o);
  if (sources) {
    texturedMatmul(ctx, o, sources);
    return;
  }
  const slices = kSlices(o, ctx.fillWorkgroups);
  if (slices.count > 1) {
    splitMatmul(ctx, o, slices.count, slices.sliceK);
    return;
  }
  dispatchMatmul(ctx, o, o.K);
}

/** An operand may be transposed into rows for matmul-texture when the other side has at least this many. */
const TRANSPOSE_MIN_OTHER = 64;
/** Row strides of whole 256-byte lines, as the buffer-to-texture copy takes them. */
const lineStride = (n: number) => Math.ceil(n / 64) * 64;

/** How matmul-texture gets an operand's rows over K: copied as they are, or from a transposed copy. */
type RowSource = 'rows' | 'transposed';

/**
 * How the 'cpu' tuning gives matmul-texture an operand of `count` rows over K (A: M rows, B: N
 * columns), its strides `along` K and `across` rows, or null. 'rows': contiguous along K (the
 * linears' X and W in X.W^T). 'transposed': contiguous across (the operand is read along its
 * other side, as W in dY.W or both operands of dW = dY^T.X), where a transposed copy is small
 * beside the product, the other side having at least TRANSPOSE_MIN_OTHER.
 */
function rowSource(ctx: GpuContext, count: number, K: number, along: number, across: number, offset: number, other: number): RowSource | null {
  if (along === 1 && ctx.rowTextureFits(count, K, across, offset)) return 'rows';
  if (across === 1 && other >= TRANSPOSE_MIN_OTHER && ctx.rowTextureFits(count, K, lineStride(K), 0)) return 'transposed';
  return null;
}

/** The operands' row sources for matmul-texture under the 'cpu' tuning, or null where the product stays on matmul. */
function textureSources(ctx: GpuContext, o: MatmulOptions): [RowSource, RowSource] | null {
  if (ctx.tuning !== 'cpu' || (o.batch ?? 1) !== 1 || o.accumulate || o.M < 8 || o.N < 8) return null;
  const a = rowSource(ctx, o.M, o.K, o.a.colStride, o.a.rowStride, o.a.offset ?? 0, o.N);
  const b = a && rowSource(ctx, o.N, o.K, o.b.rowStride, o.b.colStride, o.b.offset ?? 0, o.M);
  return a && b ? [a, b] : null;
}

/**
 * An operand's rows over K as a row texture. `stride`: between its rows ('rows'), or between its
 * values along K ('transposed': the operand lies as K rows of `count` contiguous values).
 */
function operandRows(ctx: GpuContext, t: Tensor, source: RowSource, count: number, K: number, stride: number, offset: number, label: string): RowTexture {
  if (source === 'rows') return ctx.rowTexture(t, count, K, stride, offset, label);
  const copy = transpose(ctx, t, K, count, stride, offset, lineStride(K), `${label}.transposed`);
  const rows = ctx.rowTexture(copy, count, K, lineStride(K), 0, label);
  copy.release();
  return rows;
}

function texturedMatmul(ctx: GpuContext, o: MatmulOptions, [aSource, bSource]: [RowSource, RowSource]): void {
  const a = operandRows(ctx, o.a.tensor, aSource, o.M, o.K, aSource === 'rows' ? o.a.rowStride : o.a.colStride, o.a.offset ?? 0, 'matmul.a_rows');
  const b = operandRows(ctx, o.b.tensor, bSource, o.N, o.K, bSource === 'rows' ? o.b.colStride : o.b.rowStride, o.b.offset ?? 0, 'matmul.b_rows');
  matmulTexture(ctx, { a, b, c: o.c, bias: o.bias, alpha: o.alpha });
  a.release();
  b.release();
}

/** The product as `count` products over consecutive K ranges (the batch of one dispatch), then their sum. */
function splitMatmul(ctx: GpuContext, o: MatmulOptions, count: number, sliceK: number): void {
  const partial = ctx.empty([count, o.M, o.N], 'matmul.slices');
  dispatchMatmul(
    ctx,
    {
      M: o.M, N: o.N, K: sliceK, batch: count,
      a: { ...o.a, batchStride: sliceK * o.a.colStride, innerStride: 0 },
      b: { ...o.b, batchStride: sliceK * o.b.rowStride, innerStride: 0 },
      c: { tensor: partial, rowStride: o.N, batchStride: o.M * o.N },
    },
    o.K - (count - 1) * sliceK,
  );
  sumSlices(ctx, { slices: partial, count, M: o.M, N: o.N, c: o.c, bias: o.bias, alpha: o.alpha });
  partial.release();
}

function dispatchMatmul(ctx: GpuContext, o: MatmulOptions, kLast: number): void {
  const batch = o.batch ?? 1;
  const tilesM = tilesOf(o.M);
  const tilesN = tilesOf(o.N);
  ctx.dispatch(
    matmulKernel,
    {
      M: o.M, N: o.N, K: o.K, k_last: kLast, batch, inner: o.inner ?? 1, tiles_m: tilesM, tiles_n: tilesN,
      a_off: o.a.offset ?? 0, a_rs: o.a.rowStride, a_cs: o.a.colStride, a_bs: o.a.batchStride ?? 0, a_is: o.a.innerStride ?? 0,
      b_off: o.b.offset ?? 0, b_rs: o.b.rowStride, b_cs: o.b.colStride, b_bs: o.b.batchStride ?? 0, b_is: o.b.innerStride ?? 0,
      c_off: o.c.offset ?? 0, c_rs: o.c.rowStride, c_bs: o.c.batchStride ?? 0, c_is: o.c.innerStride ?? 0,
      alpha: o.alpha ?? 1,
    },
    [o.a.tensor, o.b.tensor, o.bias ?? ctx.placeholder, o.c.tensor],
    gridFor(batch * tilesM * tilesN, matmulKernel.overrides.WG),
    { HAS_BIAS: o.bias ? 1 : 0, ACCUMULATE: o.accumulate ? 1 : 0 },
  );
}

/** nn.Linear: y[rows, out] = x[rows, in] . w[out, in]^T + bias[out]. */
export function linear(ctx: GpuContext, x: Tensor, w: Tensor, bias: Tensor | null, label: string, opts: Pick<MatmulOptions, 'splitK'> = {}): Tensor {
  const [outFeatures, inFeatures] = w.shape;
  if (x.size % inFeatures !== 0) throw new Error(`${label}: input [${x.shape}] does not end in ${inFeatures}`);
  const rows = x.size / inFeatures;
  const y = ctx.empty([...x.shape.slice(0, -1), outFeatures], label);
  matmul(ctx, {
    M: rows, N: outFeatures, K: inFeatures,
    a: { tensor: x, rowStride: inFeatures, colStride: 1 },
    b: { tensor: w, rowStride: 1, colStride: inFeatures },
    c: { tensor: y, rowStride: outFeatures },
    bias: bias ?? undefined,
    ...opts,
  });
  return y;
}
