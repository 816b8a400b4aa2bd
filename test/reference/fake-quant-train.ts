/**
 * Float references for the training fake-quantizer (QDrop forward), the float64 straight-through
 * surrogate whose finite differences validate the backward references, and the seeded test data
 * shared by the fake-quant-train, -backward and -scale-grad tests.
 */
import { viewCount, type QuantView } from '../../src/ops/fake-quant.js';
import { attentionPerHeadRow, perOutputChannel, perTensor, perToken, qkvPerHeadChannel, qkvPerHeadToken } from '../../src/quant/views.js';
import { uniforms } from '../../src/util/prng.js';
import { fakeQuantValue, forEachViewed, roundHalfEven } from './fake-quant.js';

/** Calls fn(address, scaleIndex, zeroPointIndex, flatViewIndex) for every element of the view. */
export function forEachViewedIndexed(v: QuantView, fn: (at: number, si: number, zi: number, idx: number) => void): void {
  let idx = 0;
  forEachViewed(v, (at, si, zi) => fn(at, si, zi, idx++));
}

/** A copy of yInit with y[view] = noise[idx] < keepProb ? fakequant(x) : x. */
export function fakeQuantTrainRef(
  x: Float32Array,
  scale: ArrayLike<number>,
  zp: ArrayLike<number>,
  noise: ArrayLike<number>,
  keepProb: number,
  bits: number,
  v: QuantView,
  yInit: Float32Array,
): Float32Array {
  const y = Float32Array.from(yInit);
  forEachViewedIndexed(v, (at, si, zi, idx) => {
    y[at] = noise[idx] < keepProb ? fakeQuantValue(x[at], scale[si], zp[zi], bits) : x[at];
  });
  return y;
}

/**
 * The autograd surrogate of one element in float64: PyTorch's STE is round(u) = u + stopgrad(round(u) - u),
 * so with c = round(x0 / s0) - x0 / s0 frozen at the point of differentiation, the quantized path is
 * (clamp(x / s + c + round(z), 0, qmax) - round(z)) * s; the float path is x.
 */
export function steSurrogate(x: number, s: number, z: number, c: number, kept: boolean, bits: number): number {
  if (!kept) return x;
  const zr = roundHalfEven(z);
  return (Math.min(Math.max(x / s + c + zr, 0), 2 ** bits - 1) - zr) * s;
}

/**
 * Moves viewed elements whose x / s lies within 1e-4 of a rounding tie by a quarter step: there WGSL's
 * division (not correctly rounded) and the float64 references may round x / s to different integers.
 */
export function nudgeOffTies(x: Float32Array, scale: ArrayLike<number>, v: QuantView): void {
  forEachViewed(v, (at, si) => {
    const u = x[at] / scale[si];
    if (Math.abs(u - Math.floor(u) - 0.5) < 1e-4) x[at] = Math.fround(x[at] + 0.25 * scale[si]);
  });
}

/** One quantizer view of the training tests, with the lengths of its tensors. */
export interface TrainViewCase {
  name: string;
  view: QuantView;
  length: number;
  scales: number;
  zeroPoints: number;
}

const B = 2, T = 7, H = 3, HD = 5, D = H * HD;
/** Every granularity the model uses (src/quant/views.ts) on small, awkward shapes. */
export const TRAIN_VIEW_CASES: TrainViewCase[] = [
  { name: 'weights per output channel', view: perOutputChannel(7, 13), length: 7 * 13, scales: 7, zeroPoints: 7 },
  { name: 'linear input per token', view: perToken(B, T, 9), length: B * T * 9, scales: T, zeroPoints: 1 },
  { name: 'per token, one token', view: perToken(3, 1, 5), length: 15, scales: 1, zeroPoints: 1 },
  {
    name: 'per token as [1, B, N, C]',
    view: { sizes: [1, B, T, 11], offset: 0, address: [0, T * 11, 11, 1], scale: [0, 0, 1, 0], zeroPoint: [0, 0, 0, 0] },
    length: B * T * 11,
    scales: T,
    zeroPoints: 1,
  },
  { name: 'per tensor, one element', view: perTensor(1), length: 1, scales: 1, zeroPoints: 1 },
  { name: 'per tensor', view: perTensor(1000), length: 1000, scales: 1, zeroPoints: 1 },
  { name: 'q per head x token', view: qkvPerHeadToken(B, T, H, HD, 0), length: B * T * 3 * D, scales: H * T, zeroPoints: H },
  { name: 'k per head x token', view: qkvPerHeadToken(B, T, H, HD, 1), length: B * T * 3 * D, scales: H * T, zeroPoints: H },
  { name: 'v per head x channel', view: qkvPerHeadChannel(B, T, H, HD), length: B * T * 3 * D, scales: H * HD, zeroPoints: H },
  { name: 'attention per head x row', view: attentionPerHeadRow(B, H, T), length: B * H * T * T, scales: H * T, zeroPoints: H },
  // Innermost sizes divisible by 4 or 2, where the element-wise kernels take 4 or 2 elements per invocation.
  { name: 'linear input per token, 8 channels', view: perToken(B, T, 8), length: B * T * 8, scales: T, zeroPoints: 1 },
  { name: 'v per head x channel, 4 channels', view: qkvPerHeadChannel(B, T, H, 4), length: B * T * 3 * H * 4, scales: H * 4, zeroPoints: H },
  { name: 'attention per head x row, 6 tokens', view: attentionPerHeadRow(B, H, 6), length: B * H * 6 * 6, scales: H * 6, zeroPoints: H },
];

export interface TrainData {
  x: Float32Array;
  scale: Float32Array;
  zp: Float32Array;
  /** Uniforms in (0, 1), one per viewed element (flat view index). */
  noise: Float32Array;
  dy: Float32Array;
  /** Initial contents of the output (y or dx), so unwritten or stray writes show. */
  init: Float32Array;
}

let stream = 900;
const draw = (n: number, lo: number, hi: number) => Float32Array.from(uniforms(91, stream++, n), (u) => lo + (hi - lo) * u);

/**
 * Seeded inputs for one case: x spans about twice the quantizer's range, and every third viewed element
 * is planted at t in {-1, 0, 1, qmax - 1, qmax, qmax + 1} (x / s a random fraction below 0.4 off the
 * integer), so both clamp sides, both inclusive boundaries and the interior all occur; x / s stays off ties.
 */
export function trainData(c: TrainViewCase, bits: number): TrainData {
  const qmax = 2 ** bits - 1;
  const scale = draw(c.scales, 0.02, 0.3);
  const zp = Float32Array.from(draw(c.zeroPoints, 0, qmax + 0.99), Math.floor);
  const x = draw(c.length, -0.15 * (qmax + 1), 0.15 * (qmax + 1));
  const offsets = draw(viewCount(c.view), -0.4, 0.4);
  const plant = [-1, 0, 1, qmax - 1, qmax, qmax + 1];
  forEachViewedIndexed(c.view, (at, si, zi, idx) => {
    if (idx % 3 === 0) x[at] = Math.fround((plant[(idx / 3) % plant.length] - roundHalfEven(zp[zi]) + offsets[idx]) * scale[si]);
  });
  nudgeOffTies(x, scale, c.view);
  return {
    x,
    scale,
    zp,
    noise: Float32Array.from(uniforms(92, stream++, viewCount(c.view))),
    dy: draw(c.length, -1, 1),
    init: draw(c.length, -5, 5),
  };
}
