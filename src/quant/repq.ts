/**
 * RepQ-ViT reparameterisation (../shared/docs/fimaq-method.md §4.4) on host arrays: a per-channel
 * activation quantizer (s_c, z_c) on a LayerNorm output becomes a per-tensor one (s̄, z̄) by folding
 * the channel differences into the LayerNorm before and the Linear after. The result computes the
 * same function: LN'(x)_c = LN(x)_c / r_c - b_c, and the Linear undoes exactly that.
 */
import { roundHalfEven } from './candidates.js';

export interface RepqInput {
  /** The per-channel activation quantizer of the Linear's input, [C]; scales must be positive. */
  scale: ArrayLike<number>;
  zeroPoint: ArrayLike<number>;
  /** The LayerNorm before the Linear, [C]. */
  gamma: ArrayLike<number>;
  beta: ArrayLike<number>;
  /** The Linear: weight [outFeatures, C] row-major, bias [outFeatures] or null (folding creates one). */
  weight: ArrayLike<number>;
  bias: ArrayLike<number> | null;
  outFeatures: number;
}

/** New arrays, computed in float64 (round to float32 when storing them as parameters). */
export interface RepqResult {
  gamma: Float64Array;
  beta: Float64Array;
  weight: Float64Array;
  bias: Float64Array;
  /** The per-tensor activation quantizer that replaces the per-channel one: s̄ = mean(s), z̄ = round(mean(z)). */
  scale: number;
  zeroPoint: number;
  /** [C]: r_c = s_c / s̄ and b_c = (-z_c·s_c)/r_c - (-z̄·s̄). */
  r: Float64Array;
  b: Float64Array;
}

export function repqFold(input: RepqInput): RepqResult {
  const { scale, zeroPoint, gamma, beta, weight, bias, outFeatures } = input;
  const C = scale.length;
  if (zeroPoint.length !== C || gamma.length !== C || beta.length !== C) throw new Error(`repqFold: ${C} scales but ${zeroPoint.length} zero-points, ${gamma.length} gammas, ${beta.length} betas`);
  if (weight.length !== outFeatures * C) throw new Error(`repqFold: weight has ${weight.length} values, expected ${outFeatures}x${C}`);
  if (bias && bias.length !== outFeatures) throw new Error(`repqFold: bias has ${bias.length} values, expected ${outFeatures}`);
  for (let c = 0; c < C; c++) if (!(scale[c] > 0)) throw new Error(`repqFold: scale ${scale[c]} of channel ${c} is not positive`);

  let sumS = 0;
  let sumZ = 0;
  for (let c = 0; c < C; c++) {
    sumS += scale[c];
    sumZ += zeroPoint[c];
  }
  const sBar = sumS / C;
  const zBar = roundHalfEven(sumZ / C);

  const r = new Float64Array(C);
  const b = new Float64Array(C);
  const newGamma = new Float64Array(C);
  const newBeta = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    r[c] = scale[c] / sBar;
    // The channel's quantization minimum, moved onto the per-tensor grid's minimum.
    b[c] = (-zeroPoint[c] * scale[c]) / r[c] - -zBar * sBar;
    newGamma[c] = gamma[c] / r[c];
    newBeta[c] = beta[c] / r[c] - b[c];
  }

  const newWeight = new Float64Array(outFeatures * C);
  const newBias = new Float64Array(outFeatures);
  for (let o = 0; o < outFeatures; o++) {
    let acc = bias ? bias[o] : 0;
    for (let c = 0; c < C; c++) {
      newWeight[o * C + c] = weight[o * C + c] * r[c];
      // bias += W_new · b: restores what subtracting b in the LayerNorm removed.
      acc += newWeight[o * C + c] * b[c];
    }
    newBias[o] = acc;
  }
  return { gamma: newGamma, beta: newBeta, weight: newWeight, bias: newBias, scale: sBar, zeroPoint: zBar, r, b };
}
