/** Float64 reference for the scale gradient of the training fake-quantizer, summed per scale entry. */
import type { QuantView } from '../../src/ops/fake-quant.js';
import { steElement } from './fake-quant-backward.js';
import { forEachViewedIndexed } from './fake-quant-train.js';

/** grad[j] = Σ contributions of the elements with scale index j; magnitude[j] = Σ of their absolute values. */
export function fakeQuantScaleGradRef(
  x: Float32Array,
  scale: ArrayLike<number>,
  zp: ArrayLike<number>,
  noise: ArrayLike<number>,
  keepProb: number,
  bits: number,
  v: QuantView,
  dy: Float32Array,
): { grad: Float64Array; magnitude: Float64Array } {
  const grad = new Float64Array(scale.length);
  const magnitude = new Float64Array(scale.length);
  forEachViewedIndexed(v, (at, si, zi, idx) => {
    const e = steElement(x[at], scale[si], zp[zi], noise[idx] < keepProb, bits);
    let d = 0;
    if (e.branch === 'inside') d = e.t - e.zr - e.u; // round(x / s) - x / s
    else if (e.branch === 'clamped') d = Math.min(Math.max(e.t, 0), 2 ** bits - 1) - e.zr;
    grad[si] += dy[at] * d;
    magnitude[si] += Math.abs(dy[at] * d);
  });
  return { grad, magnitude };
}
