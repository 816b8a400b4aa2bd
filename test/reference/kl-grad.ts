/** Float64 reference of dL/dyhat = (softmax(yhat / t) - softmax(target / t)) / (rows t) for the batchmean KL loss. */
import { logSoftmaxRow } from './kl-loss.js';

export function klGradRef(yhat: ArrayLike<number>, target: ArrayLike<number>, rows: number, cols: number, t = 1): Float64Array {
  const g = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const logP = logSoftmaxRow(target, r * cols, cols, t);
    const logQ = logSoftmaxRow(yhat, r * cols, cols, t);
    for (let c = 0; c < cols; c++) g[r * cols + c] = (Math.exp(logQ[c]) - Math.exp(logP[c])) / (rows * t);
  }
  return g;
}
