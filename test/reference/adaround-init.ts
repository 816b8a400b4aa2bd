/** Float64 reference of AdaRound's initialisation: base = floor(w / s), h(alpha) = frac(w / s). */
import { GAMMA, ZETA } from './adaround-weight.js';

/** The alpha whose rectified sigmoid is frac, for frac in [0, 1]. */
export const alphaForFraction = (frac: number): number => -Math.log((ZETA - GAMMA) / (frac - GAMMA) - 1);

export function adaroundInitRef(w: ArrayLike<number>, scale: ArrayLike<number>, cols: number): { base: Float64Array; alpha: Float64Array } {
  const base = new Float64Array(w.length);
  const alpha = new Float64Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const ratio = w[i] / scale[Math.floor(i / cols)];
    base[i] = Math.floor(ratio);
    alpha[i] = alphaForFraction(ratio - base[i]);
  }
  return { base, alpha };
}
