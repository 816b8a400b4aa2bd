/**
 * The calibration searches of ../shared/docs/fimaq-method.md §4, with candidate tables built on the
 * host (src/quant/candidates.ts) and every candidate's loss evaluated on the GPU in one dispatch
 * per step. Only the small loss vectors are read back, to pick the winners.
 * test/reference/calibration-search.ts is the independent float64 version they are checked against.
 */
import { add } from '../ops/add.js';
import { calibLinearInputLoss } from '../ops/calib-linear-input-loss.js';
import { calibLinearWeightLoss } from '../ops/calib-linear-weight-loss.js';
import { MatmulLossSums, type ProductLayout, transposed } from '../ops/calib-matmul-loss.js';
import { calibSelfLoss, calibSelfLossOverChunks } from '../ops/calib-self-loss.js';
import { fakeQuantInto, type QuantView } from '../ops/fake-quant.js';
import { linear, matmul, type Operand } from '../ops/matmul.js';
import { type GpuContext, Tensor } from '../runtime/context.js';
import { activationCandidates, convWeightCandidates, linearWeightCandidates, matmulBoundCandidates, perChannelActivationCandidates, scaleZeroFromBounds } from './candidates.js';
import { perOutputChannel, perTensor } from './views.js';

/**
 * Calibration data on the GPU: one tensor [images, ...], or chunks of whole images (a RowCache's
 * chunks, each within one storage binding). Every search gives the same result either way: each
 * loss adds the chunks up in image order, continuing one running sum.
 */
export type Rows = Tensor | readonly Tensor[];

export const chunksOf = (t: Rows): readonly Tensor[] => (t instanceof Tensor ? [t] : t);

/** Index of the smallest loss in each group of `count` (the first one on ties, as torch.argmin). */
export function argminPerGroup(loss: Float32Array, groups: number, count: number): Int32Array {
  const out = new Int32Array(groups);
  for (let g = 0; g < groups; g++) {
    let best = 0;
    for (let c = 1; c < count; c++) if (loss[g * count + c] < loss[g * count + best]) best = c;
    out[g] = best;
  }
  return out;
}

function pick(table: Float32Array, groups: number, count: number, chosen: Int32Array): Float32Array {
  return Float32Array.from({ length: groups }, (_, g) => table[g * count + chosen[g]]);
}

async function readAndRelease(ctx: GpuContext, t: Tensor): Promise<Float32Array> {
  const v = await ctx.read(t);
  t.release();
  return v;
}

function uploadTable(ctx: GpuContext, scale: Float32Array, zeroPoint: Float32Array, label: string): [Tensor, Tensor] {
  return [ctx.upload(scale, [scale.length], `${label}.scale`), ctx.upload(zeroPoint, [zeroPoint.length], `${label}.zero_point`)];
}

/** A quantizer: per-group scale and (integer-valued) zero-point. */
export interface Quantizer {
  scale: Float32Array;
  zeroPoint: Float32Array;
}

/** Quantizers from (upper, lower) bound pairs, one per entry. */
function fromBounds(upper: ArrayLike<number>, lower: ArrayLike<number>, bits: number): Quantizer {
  const scale = new Float32Array(upper.length);
  const zeroPoint = new Float32Array(upper.length);
  for (let i = 0; i < upper.length; i++) {
    const q = scaleZeroFromBounds(upper[i], lower[i], bits);
    scale[i] = q.scale;
    zeroPoint[i] = q.zeroPoint;
  }
  return { scale, zeroPoint };
}

/**
 * The refinement candidates of §4.2 / §4.3 for `groups` groups of `n` bound candidates: one side
 * takes every candidate's bound, the other stays at the group's current bound.
 */
function refinementCandidates(
  cand: { upper: Float32Array; lower: Float32Array }, groups: number, n: number, side: 'upper' | 'lower',
  upper: ArrayLike<number>, lower: ArrayLike<number>, bits: number,
): Quantizer {
  const u = new Float64Array(groups * n);
  const l = new Float64Array(groups * n);
  for (let g = 0; g < groups; g++) {
    for (let t = 0; t < n; t++) {
      u[g * n + t] = side === 'upper' ? cand.upper[g * n + t] : upper[g];
      l[g * n + t] = side === 'lower' ? cand.lower[g * n + t] : lower[g];
    }
  }
  return fromBounds(u, l, bits);
}

/** Fake-quantizes x through `view` with a host quantizer into a new tensor. */
export function fakeQuant(ctx: GpuContext, x: Tensor, q: Quantizer, bits: number, view: QuantView, label: string): Tensor {
  const [s, z] = uploadTable(ctx, q.scale, q.zeroPoint, label);
  const y = ctx.empty(x.shape, label);
  fakeQuantInto(ctx, x, s, z, bits, view, y);
  s.release();
  z.release();
  return y;
}

export interface LinearSearchInput {
  /** Float input [N, K] (all calibration tokens; chunks of whole images) and its host copy. */
  x: Rows;
  xHost: Float32Array;
  /** Float weight [O, K], its host copy, and the bias [O]. */
  w: Tensor;
  wHost: Float32Array;
  bias: Tensor;
  wbits: number;
  abits: number;
  eqN: number;
  rounds: number;
}

export interface LinearSearchResult {
  weight: Quantizer;
  /** Per-tensor input quantizer (one value each). */
  input: Quantizer;
}

/** §4.1: weight self-search, input self-search, then alternating rounds on the layer output. */
export async function searchLinear(ctx: GpuContext, s: LinearSearchInput): Promise<LinearSearchResult> {
  const [O, K] = s.w.shape;
  const xs = chunksOf(s.x);
  const wc = linearWeightCandidates(s.wHost, O, K, s.wbits, s.eqN);
  const [wScale, wZero] = uploadTable(ctx, wc.scale, wc.zeroPoint, 'weight-candidates');
  let wBest = argminPerGroup(
    await readAndRelease(ctx, calibSelfLoss(ctx, s.w, { rows: O, len: K, rowStride: K, elementStride: 1 }, wScale, wZero, wc.count, s.wbits)),
    O,
    wc.count,
  );
  const ac = activationCandidates(s.xHost, s.abits, s.eqN);
  const [aScale, aZero] = uploadTable(ctx, ac.scale, ac.zeroPoint, 'input-candidates');
  const wholeTensor = xs.map((v) => ({ v, layout: { rows: 1, len: v.size, rowStride: 0, elementStride: 1 } }));
  let aBest = argminPerGroup(await readAndRelease(ctx, calibSelfLossOverChunks(ctx, wholeTensor, aScale, aZero, ac.count, s.abits)), 1, ac.count);
  // Rows in chunks: no product may split K by its row count (see `splitK`).
  const ys = xs.map((x) => linear(ctx, x, s.w, s.bias, 'calib.y', { splitK: false }));
  const inputQuantizer = (): Quantizer => ({ scale: pick(ac.scale, 1, ac.count, aBest), zeroPoint: pick(ac.zeroPoint, 1, ac.count, aBest) });
  const weightQuantizer = (): Quantizer => ({ scale: pick(wc.scale, O, wc.count, wBest), zeroPoint: pick(wc.zeroPoint, O, wc.count, wBest) });
  for (let round = 0; round < s.rounds; round++) {
    // Weights, per output channel, with the input quantized: Gram form of the output error. G and
    // g sum over the rows chunk by chunk, continuing one running sum (matmul's accumulate).
    const gram = ctx.empty([K, K], 'calib.gram');
    const cross = ctx.empty([K, O], 'calib.cross');
    ctx.clear(gram);
    ctx.clear(cross);
    const q = inputQuantizer();
    const [qScale, qZero] = uploadTable(ctx, q.scale, q.zeroPoint, 'calib.xq');
    xs.forEach((x, i) => {
      const N = x.size / K;
      const xq = ctx.empty(x.shape, 'calib.xq');
      fakeQuantInto(ctx, x, qScale, qZero, s.abits, perTensor(x.size), xq);
      matmul(ctx, { M: K, N: K, K: N, a: { tensor: xq, rowStride: 1, colStride: K }, b: { tensor: xq, rowStride: K, colStride: 1 }, c: { tensor: gram, rowStride: K }, accumulate: true });
      const pred = linear(ctx, xq, s.w, s.bias, 'calib.pred', { splitK: false });
      const residual = add(ctx, ys[i], pred, 'calib.residual', -1);
      pred.release();
      matmul(ctx, { M: K, N: O, K: N, a: { tensor: xq, rowStride: 1, colStride: K }, b: { tensor: residual, rowStride: O, colStride: 1 }, c: { tensor: cross, rowStride: O }, accumulate: true });
      residual.release();
      xq.release();
    });
    qScale.release();
    qZero.release();
    // Each loss below materialises candidate errors of its own sizes: pooling what came before
    // would hold both (the memory estimate, src/quant/memory.ts, counts the larger).
    ctx.trimPool();
    wBest = argminPerGroup(await readAndRelease(ctx, calibLinearWeightLoss(ctx, s.w, gram, cross, wScale, wZero, wc.count, s.wbits)), O, wc.count);
    gram.release();
    cross.release();
    ctx.trimPool();
    // The input, with the weights quantized: every candidate's output error in one fused pass.
    const wq = fakeQuant(ctx, s.w, weightQuantizer(), s.wbits, perOutputChannel(O, K), 'calib.wq');
    aBest = argminPerGroup(await calibLinearInputLoss(ctx, xs, wq, s.bias, ys, aScale, aZero, s.abits), 1, ac.count);
    wq.release();
    ctx.trimPool();
  }
  for (const t of [wScale, wZero, aScale, aZero, ...ys]) t.release();
  // The next search's candidate chunks have other sizes: keep the pool to what is in use.
  ctx.trimPool();
  return { weight: weightQuantizer(), input: inputQuantizer() };
}

export interface MatmulOperand {
  /** Where the operand lives: strides per image (batchStride) and head (innerStride) in `tensor`, whole or in chunks of whole images. */
  operand: Omit<Operand, 'tensor'> & { tensor: Rows };
  /** Host copy of the operand's tensor and the view that groups its values by head (zero-point index), over all images. */
  host: Float32Array;
  view: QuantView;
}

export interface MatmulSearchInput {
  M: number;
  N: number;
  K: number;
  images: number;
  heads: number;
  a: MatmulOperand;
  b: MatmulOperand;
  /** The float product A.B per image and head (chunked as the operands). */
  reference: Omit<ProductLayout, 'tensor'> & { tensor: Rows };
  bits: number;
  rounds: number;
  /** Bound pairs per head (official: eq_n + 1 = 129). */
  candidates?: number;
}

/** Per-head quantizers of both operands. */
export interface MatmulSearchResult {
  a: Quantizer;
  b: Quantizer;
}

/**
 * §4.2: per head, candidates pair upper and lower quantile bounds; search A then B from candidate
 * n - 2, then `rounds` rounds that refine each operand's lower bound (upper fixed) and upper bound
 * (lower fixed).
 */
export async function searchMatmul(ctx: GpuContext, s: MatmulSearchInput): Promise<MatmulSearchResult> {
  const H = s.heads;
  const ca = matmulBoundCandidates(s.a.host, s.a.view, H, s.bits, s.candidates);
  const cb = matmulBoundCandidates(s.b.host, s.b.view, H, s.bits, s.candidates);
  const n = ca.count;
  const chunks = { a: chunksOf(s.a.operand.tensor), b: chunksOf(s.b.operand.tensor), reference: chunksOf(s.reference.tensor) };
  // Images per chunk: a whole tensor holds them all; chunks of whole images hold shape[0] each.
  const images = s.a.operand.tensor instanceof Tensor ? [s.images] : chunks.a.map((t) => t.shape[0]);
  for (const list of [chunks.b, chunks.reference]) {
    if (list.length !== images.length || (list.length > 1 && list.some((t, i) => t.shape[0] !== images[i]))) throw new Error('searchMatmul: operands and reference are chunked differently');
  }
  // Current bounds per head and operand.
  const bounds = {
    a: { upper: Float64Array.from({ length: H }, (_, h) => ca.upper[h * n + ca.startIndex]), lower: Float64Array.from({ length: H }, (_, h) => ca.lower[h * n + ca.startIndex]) },
    b: { upper: Float64Array.from({ length: H }, (_, h) => cb.upper[h * n + cb.startIndex]), lower: Float64Array.from({ length: H }, (_, h) => cb.lower[h * n + cb.startIndex]) },
  };
  const fixed = (which: 'a' | 'b'): Quantizer => fromBounds(bounds[which].upper, bounds[which].lower, s.bits);
  /**
   * Evaluates `count` candidates per head for one operand with the other fixed (fake-quantized one
   * chunk at a time); the right operand is searched through the transposed product. Returns the winners.
   */
  const step = async (which: 'a' | 'b', candidates: Quantizer): Promise<Int32Array> => {
    const [candScale, candZeroPoint] = uploadTable(ctx, candidates.scale, candidates.zeroPoint, 'matmul-candidates');
    const otherWhich = which === 'a' ? 'b' : 'a';
    const other = s[otherWhich];
    const q = fixed(otherWhich);
    const [fixedScale, fixedZeroPoint] = uploadTable(ctx, q.scale, q.zeroPoint, 'matmul-fixed');
    const r = s.reference;
    const sums = new MatmulLossSums(ctx, which === 'a' ? { M: s.M, N: s.N, K: s.K, heads: H, candScale, candZeroPoint, count: n, bits: s.bits } : { M: s.N, N: s.M, K: s.K, heads: H, candScale, candZeroPoint, count: n, bits: s.bits });
    images.forEach((count, i) => {
      // The other operand's chunk with that operand fake-quantized by its current per-head
      // quantizer (one quantizer per head: the scale is indexed like the zero-point).
      const src = chunks[otherWhich][i];
      const copy = ctx.empty(src.shape, `calib.${otherWhich}.quantized`);
      ctx.copy(src, copy);
      fakeQuantInto(ctx, src, fixedScale, fixedZeroPoint, s.bits, { ...imagesView(other.view, count), scale: other.view.zeroPoint }, copy);
      const quantized = { ...other.operand, tensor: copy };
      const reference = { ...r, tensor: chunks.reference[i] };
      const searched = { ...s[which].operand, tensor: chunks[which][i] };
      if (which === 'a') sums.add({ images: count, a: searched, b: quantized, reference });
      else sums.add({ images: count, a: transposed(searched), b: transposed(quantized), reference: { ...reference, rowStride: r.colStride, colStride: r.rowStride } });
      copy.release();
    });
    const best = argminPerGroup(await readAndRelease(ctx, sums.finish()), H, n);
    for (const t of [candScale, candZeroPoint, fixedScale, fixedZeroPoint]) t.release();
    return best;
  };
  const cands = { a: ca, b: cb };
  for (const which of ['a', 'b'] as const) {
    const c = cands[which];
    const best = await step(which, { scale: c.scale, zeroPoint: c.zeroPoint });
    for (let h = 0; h < H; h++) {
      bounds[which].upper[h] = c.upper[h * n + best[h]];
      bounds[which].lower[h] = c.lower[h * n + best[h]];
    }
  }
  for (let round = 0; round < s.rounds; round++) {
    for (const which of ['a', 'b'] as const) {
      for (const side of ['lower', 'upper'] as const) {
        const c = cands[which];
        const best = await step(which, refinementCandidates(c, H, n, side, bounds[which].upper, bounds[which].lower, s.bits));
        for (let h = 0; h < H; h++) bounds[which][side][h] = c[side][h * n + best[h]];
      }
    }
  }
  ctx.trimPool();
  return { a: fixed('a'), b: fixed('b') };
}

/** A view over all images (its first dimension), narrowed to `images` of them; the quantizer must not depend on the image. */
function imagesView(view: QuantView, images: number): QuantView {
  if (view.scale[0] !== 0 || view.zeroPoint[0] !== 0) throw new Error('searchMatmul: a quantizer view that depends on the image');
  return { ...view, sizes: [images, view.sizes[1], view.sizes[2], view.sizes[3]] };
}

/** RepQ-ViT's per-channel input pre-calibration: per channel, the candidate with the least input MSE. */
export async function searchPerChannelInput(ctx: GpuContext, x: Rows, xHost: Float32Array, channels: number, bits: number, eqN: number): Promise<Quantizer> {
  const rows = xHost.length / channels;
  const c = perChannelActivationCandidates(xHost, rows, channels, bits, eqN);
  const [scale, zero] = uploadTable(ctx, c.scale, c.zeroPoint, 'channel-candidates');
  const perChannel = chunksOf(x).map((v) => ({ v, layout: { rows: channels, len: v.size / channels, rowStride: 1, elementStride: channels } }));
  const best = argminPerGroup(await readAndRelease(ctx, calibSelfLossOverChunks(ctx, perChannel, scale, zero, c.count, bits)), channels, c.count);
  scale.release();
  zero.release();
  return { scale: pick(c.scale, channels, c.count, best), zeroPoint: pick(c.zeroPoint, channels, c.count, best) };
}

/**
 * §4.3: the patch-embedding weight per output channel on the conv-output error (the image is not
 * quantized, so the error is d' G d with G = X'X over all image patches), then `rounds` rounds
 * refining the lower bound (upper fixed) and the upper bound (lower fixed).
 */
export async function searchConv(ctx: GpuContext, patches: Rows, w: Tensor, wHost: Float32Array, bits: number, rounds: number, eqN = 128): Promise<Quantizer> {
  const [O, K] = w.shape;
  const cand = convWeightCandidates(wHost, O, K, bits, eqN);
  const n = cand.count;
  const gram = ctx.empty([K, K], 'calib.conv.gram');
  ctx.clear(gram);
  for (const p of chunksOf(patches)) {
    const N = p.size / K;
    matmul(ctx, { M: K, N: K, K: N, a: { tensor: p, rowStride: 1, colStride: K }, b: { tensor: p, rowStride: K, colStride: 1 }, c: { tensor: gram, rowStride: K }, accumulate: true });
  }
  const cross = ctx.empty([K, O], 'calib.conv.cross');
  ctx.clear(cross);
  const evaluate = async (scale: Float32Array, zeroPoint: Float32Array): Promise<Int32Array> => {
    const [st, zt] = uploadTable(ctx, scale, zeroPoint, 'conv-candidates');
    const best = argminPerGroup(await readAndRelease(ctx, calibLinearWeightLoss(ctx, w, gram, cross, st, zt, n, bits)), O, n);
    st.release();
    zt.release();
    return best;
  };
  const first = await evaluate(cand.scale, cand.zeroPoint);
  const upper = Float64Array.from({ length: O }, (_, o) => cand.upper[o * n + first[o]]);
  const lower = Float64Array.from({ length: O }, (_, o) => cand.lower[o * n + first[o]]);
  for (let round = 0; round < rounds; round++) {
    for (const side of ['lower', 'upper'] as const) {
      const table = refinementCandidates(cand, O, n, side, upper, lower, bits);
      const best = await evaluate(table.scale, table.zeroPoint);
      for (let o = 0; o < O; o++) (side === 'upper' ? upper : lower)[o] = cand[side][o * n + best[o]];
    }
  }
  gram.release();
  cross.release();
  return fromBounds(upper, lower, bits);
}
