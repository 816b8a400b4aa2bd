/** Float64 reference of AdaRound's rectified sigmoid and its soft / hard quantize-dequantize. */
export const ZETA = 1.1;
export const GAMMA = -0.1;

export const sigmoid = (a: number): number => 1 / (1 + Math.exp(-a));

/** h(alpha) = clamp(sigmoid(alpha) (zeta - gamma) + gamma, 0, 1). */
export function rectifiedSigmoid(a: number): number {
  return Math.min(Math.max(sigmoid(a) * (ZETA - GAMMA) + GAMMA, 0), 1);
}

/** w_hat[r, c] = (clamp(base + h + z_r, 0, qmax) - z_r) * s_r with h soft or [alpha >= 0]. */
export function adaroundWeightRef(
  base: ArrayLike<number>,
  alpha: ArrayLike<number>,
  scale: ArrayLike<number>,
  zp: ArrayLike<number>,
  cols: number,
  bits: number,
  hard: boolean,
): Float64Array {
  const qmax = 2 ** bits - 1;
  const out = new Float64Array(base.length);
  for (let i = 0; i < base.length; i++) {
    const r = Math.floor(i / cols);
    const h = hard ? (alpha[i] >= 0 ? 1 : 0) : rectifiedSigmoid(alpha[i]);
    const q = Math.min(Math.max(base[i] + h + zp[r], 0), qmax);
    out[i] = (q - zp[r]) * scale[r];
  }
  return out;
}
