/** Float64 reference for the exact GELU's input gradient: dx = dy * (Phi(x) + x * phi(x)). */
import { erf } from './gelu.js';

export function geluBackwardRef(x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  const dx = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    const cdf = 0.5 * (1 + erf(v / Math.SQRT2));
    const pdf = Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI);
    dx[i] = dy[i] * (cdf + v * pdf);
  }
  return dx;
}
