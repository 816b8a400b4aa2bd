/**
 * Float64 reference for dx of the training fake-quantizer: round is straight-through, torch.clamp passes the
 * gradient where 0 <= t <= qmax (inclusive), the zero-point is frozen, and QDrop's float path passes dy.
 */
import type { QuantView } from '../../src/ops/fake-quant.js';
import { roundHalfEven } from './fake-quant.js';
import { forEachViewedIndexed } from './fake-quant-train.js';

export type SteBranch = 'float' | 'inside' | 'clamped';

export interface SteElement {
  branch: SteBranch;
  /** u = x / s in float64 (inputs are kept away from rounding ties, so round(u) matches float32). */
  u: number;
  /** t = round(u) + round(z). */
  t: number;
  zr: number;
}

export function steElement(x: number, s: number, z: number, kept: boolean, bits: number): SteElement {
  const u = x / s;
  const zr = roundHalfEven(z);
  const t = roundHalfEven(u) + zr;
  const branch: SteBranch = !kept ? 'float' : t >= 0 && t <= 2 ** bits - 1 ? 'inside' : 'clamped';
  return { branch, u, t, zr };
}

/** A copy of dxInit with dx[view] = 0 on clamped quantized elements and dy elsewhere in the view. */
export function fakeQuantBackwardRef(
  x: Float32Array,
  scale: ArrayLike<number>,
  zp: ArrayLike<number>,
  noise: ArrayLike<number>,
  keepProb: number,
  bits: number,
  v: QuantView,
  dy: Float32Array,
  dxInit: Float32Array,
): Float32Array {
  const dx = Float32Array.from(dxInit);
  forEachViewedIndexed(v, (at, si, zi, idx) => {
    dx[at] = steElement(x[at], scale[si], zp[zi], noise[idx] < keepProb, bits).branch === 'clamped' ? 0 : dy[at];
  });
  return dx;
}
