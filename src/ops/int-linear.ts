/**
 * int-linear: the integer pipeline's linear layer ([E5]). Byte-packed activation codes times
 * bit-packed weight codes, accumulated in integers, scaled per token and per output channel:
 *   Y[m][n] = sx[m mod T] * sw[n] * sum_k (X[m][k] - zx) * (Wq[n][k] - zw[n]) (+ bias[n]).
 * The weights stay in the quantized-model file's packed layout (src/quant/pack.ts) on the GPU;
 * `uploadPackedWeight` puts them there once.
 */
import { packCodes, wordsPerRow } from '../util/pack.js';
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const intLinearKernel: KernelDescriptor = {
  name: 'int-linear',
  entryPoint: 'main',
  storage: [
    { name: 'x', access: 'read' },
    { name: 'sx', access: 'read' },
    { name: 'zx', access: 'read' },
    { name: 'w', access: 'read' },
    { name: 'sw', access: 'read' },
    { name: 'zw', access: 'read' },
    { name: 'bias', access: 'read' },
    { name: 'y', access: 'read_write' },
  ],
  uniforms: ['M', 'N', 'K', 'T', 'tiles_m', 'tiles_n', 'x_rs', 'w_rs', 'y_off', 'y_rs'].map((name) => ({ name, type: 'u32' as const })),
  overrides: { WG: 64, BITS: 4, HAS_BIAS: 0 },
  variant: { languageFeature: 'packed_4x8_integer_dot_product', polyfill: 'dot4-portable' },
  // Integer multiply-adds; codes and the output once, plus the scales, zero-points and bias.
  cost: ({ uniforms: u, bufferBytes: b }) => ({
    flops: 2 * u.M * u.N * u.K,
    bytes: 4 * (u.M * u.x_rs + u.N * u.w_rs + u.M * u.N) + b[1] + b[2] + b[4] + b[5] + b[6],
  }),
};

/** A per-output-channel quantized weight on the GPU, codes still bit-packed as in the file. */
export interface UploadedPackedWeight {
  bits: number;
  /** Output channels (N). */
  rows: number;
  /** Inputs (K). */
  cols: number;
  /** ceil(cols * bits / 32): the word distance between rows of `codes`. */
  wordsPerRow: number;
  /** u32 [rows * wordsPerRow + 1]: the packed rows plus one zero word, so kernels may read a two-word window anywhere. */
  codes: Tensor;
  /** f32 [rows] */
  scale: Tensor;
  /** i32 [rows] */
  zeroPoint: Tensor;
  release(): void;
}

/** Packs a weight quantizer's codes at its bit width and uploads codes, scales and zero points. */
/** A per-output-channel quantized weight on the host (the fields of quant's WeightQuant). */
export interface HostQuantizedWeight {
  bits: number;
  rows: number;
  cols: number;
  scale: Float32Array;
  zeroPoint: Int32Array;
  codes: ArrayLike<number>;
}

export function uploadPackedWeight(ctx: GpuContext, w: HostQuantizedWeight, label: string): UploadedPackedWeight {
  if (w.scale.length !== w.rows || w.zeroPoint.length !== w.rows) {
    throw new Error(`${label}: ${w.scale.length} scales and ${w.zeroPoint.length} zero points for ${w.rows} rows`);
  }
  const wpr = wordsPerRow(w.cols, w.bits);
  const packed = packCodes(w.codes, w.rows, w.cols, w.bits);
  const words = new Uint32Array(packed.length + 1);
  words.set(packed);
  const codes = ctx.upload(words, [words.length], `${label}.codes`);
  const scale = ctx.upload(w.scale, [w.rows], `${label}.scale`);
  const zeroPoint = ctx.upload(w.zeroPoint, [w.rows], `${label}.zero_point`);
  return {
    bits: w.bits,
    rows: w.rows,
    cols: w.cols,
    wordsPerRow: wpr,
    codes,
    scale,
    zeroPoint,
    release() {
      codes.release();
      scale.release();
      zeroPoint.release();
    },
  };
}

/** Largest K for which the i32 accumulator of int-linear cannot overflow with 8-bit activations at these weight bits. */
export function intLinearMaxInputs(weightBits: number): number {
  return Math.floor((2 ** 31 - 1) / (255 * (2 ** weightBits - 1)));
}

/** Where int-linear writes: element offset and row stride (>= N) in a larger f32 tensor. */
export interface IntLinearOutput {
  tensor: Tensor;
  offset?: number;
  /** Default N. */
  rowStride?: number;
}

export interface IntLinearOptions {
  /** Activation codes: u32 words, 4 unsigned 8-bit codes each (code i in byte i), rows of ceil(K/4) words, padded lanes 0. */
  x: Tensor;
  /** M: rows of x. */
  rows: number;
  /** T: row m uses token m mod T of the input scale; must divide `rows`. 1 for a per-tensor scale. */
  tokens: number;
  /** f32 [T]: per-token activation scale. */
  inputScale: Tensor;
  /** f32 [1] holding an integer: the activation zero point. */
  inputZeroPoint: Tensor;
  weight: UploadedPackedWeight;
  /** f32 [N] */
  bias?: Tensor | null;
  /** Default: a new f32 tensor [rows, N]. */
  out?: IntLinearOutput;
  label?: string;
}

/** Records Y = sx * sw * (X - zx)(Wq - zw)^T (+ bias); returns the tensor written. */
export function intLinear(ctx: GpuContext, o: IntLinearOptions): Tensor {
  const label = o.label ?? 'int-linear';
  const { rows: M, tokens: T, weight } = o;
  const N = weight.rows;
  const K = weight.cols;
  const xWords = Math.ceil(K / 4);
  if (!Number.isInteger(M) || M < 1) throw new Error(`${label}: rows ${M} must be a positive integer`);
  if (!Number.isInteger(T) || T < 1 || M % T !== 0) throw new Error(`${label}: ${T} tokens do not divide ${M} rows`);
  const maxK = intLinearMaxInputs(weight.bits);
  if (K > maxK) throw new Error(`${label}: K=${K} inputs could overflow the i32 accumulator at ${weight.bits}-bit weights (at most ${maxK})`);
  if (o.x.size < M * xWords) throw new Error(`${label}: input [${o.x.shape}] holds fewer than ${M} rows of ${xWords} words (K=${K})`);
  if (o.inputScale.size !== T) throw new Error(`${label}: input scale [${o.inputScale.shape}] is not [${T}]`);
  if (o.inputZeroPoint.size !== 1) throw new Error(`${label}: input zero point [${o.inputZeroPoint.shape}] is not [1]`);
  if (o.bias && o.bias.size !== N) throw new Error(`${label}: bias [${o.bias.shape}] is not [${N}]`);
  const y = o.out?.tensor ?? ctx.empty([M, N], label);
  const yOff = o.out?.offset ?? 0;
  const yRs = o.out?.rowStride ?? N;
  if (yRs < N || yOff + (M - 1) * yRs + N > y.size) {
    throw new Error(`${label}: output [${y.shape}] at offset ${yOff}, row stride ${yRs} cannot hold ${M}x${N}`);
  }
  const tilesM = Math.ceil(M / 8);
  const tilesN = Math.ceil(N / 4);
  ctx.dispatch(
    intLinearKernel,
    { M, N, K, T, tiles_m: tilesM, tiles_n: tilesN, x_rs: xWords, w_rs: weight.wordsPerRow, y_off: yOff, y_rs: yRs },
    [o.x, o.inputScale, o.inputZeroPoint, weight.codes, weight.scale, weight.zeroPoint, o.bias ?? ctx.placeholder, y],
    gridFor(tilesM * tilesN, intLinearKernel.overrides.WG),
    { BITS: weight.bits, HAS_BIAS: o.bias ? 1 : 0 },
  );
  return y;
}
