/** Float64 reference of AdaRound's alpha gradient, and the loss it differentiates (for finite differences). */
import { adaroundWeightRef, GAMMA, rectifiedSigmoid, sigmoid, ZETA } from './adaround-weight.js';

/** h'(alpha), zero where the rectifying clamp is active (its edges pass gradient, as torch.clamp's do). */
export function rectifiedSigmoidGrad(a: number): number {
  const sg = sigmoid(a);
  const stretched = sg * (ZETA - GAMMA) + GAMMA;
  return stretched >= 0 && stretched <= 1 ? sg * (1 - sg) * (ZETA - GAMMA) : 0;
}

/** Σ dWhat * w_hat(soft) + lambda Σ (1 - |2h - 1|^beta). */
export function adaroundLossRef(
  base: ArrayLike<number>,
  alpha: ArrayLike<number>,
  scale: ArrayLike<number>,
  zp: ArrayLike<number>,
  cols: number,
  bits: number,
  dWhat: ArrayLike<number>,
  lambda: number,
  beta: number,
): number {
  const wHat = adaroundWeightRef(base, alpha, scale, zp, cols, bits, false);
  let loss = 0;
  for (let i = 0; i < wHat.length; i++) loss += dWhat[i] * wHat[i] + lambda * (1 - Math.abs(2 * rectifiedSigmoid(alpha[i]) - 1) ** beta);
  return loss;
}

/** d adaroundLossRef / d alpha, element by element. */
export function adaroundBackwardRef(
  base: ArrayLike<number>,
  alpha: ArrayLike<number>,
  scale: ArrayLike<number>,
  zp: ArrayLike<number>,
  cols: number,
  bits: number,
  dWhat: ArrayLike<number>,
  lambda: number,
  beta: number,
): Float64Array {
  const qmax = 2 ** bits - 1;
  const out = new Float64Array(base.length);
  for (let i = 0; i < base.length; i++) {
    const r = Math.floor(i / cols);
    const h = rectifiedSigmoid(alpha[i]);
    const dh = rectifiedSigmoidGrad(alpha[i]);
    const v = base[i] + h + zp[r];
    const fromWeight = v >= 0 && v <= qmax ? dWhat[i] * scale[r] * dh : 0;
    const t = 2 * h - 1;
    // d/dt |t|^beta = beta |t|^(beta - 1) sign(t); Math.sign(0) = 0 as torch's abs backward gives.
    const fromReg = t === 0 ? 0 : -lambda * beta * Math.abs(t) ** (beta - 1) * Math.sign(t) * 2 * dh;
    out[i] = fromWeight + fromReg;
  }
  return out;
}
