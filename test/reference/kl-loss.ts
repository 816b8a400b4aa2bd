/** Float64 reference of PyTorch's kl_div(log_softmax(yhat), log_softmax(t), log_target=True, reduction='batchmean'). */

/** log softmax of x[base .. base + cols) / t, with the maximum subtracted before exp. */
export function logSoftmaxRow(x: ArrayLike<number>, base: number, cols: number, t = 1): Float64Array {
  let m = -Infinity;
  for (let c = 0; c < cols; c++) m = Math.max(m, x[base + c] / t);
  let s = 0;
  for (let c = 0; c < cols; c++) s += Math.exp(x[base + c] / t - m);
  const lse = m + Math.log(s);
  return Float64Array.from({ length: cols }, (_, c) => x[base + c] / t - lse);
}

/** (1/rows) Σ_r Σ_c p (log p - log q), p = softmax(target[r, :] / t), q = softmax(yhat[r, :] / t). */
export function klLossRef(yhat: ArrayLike<number>, target: ArrayLike<number>, rows: number, cols: number, t = 1): number {
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const logP = logSoftmaxRow(target, r * cols, cols, t);
    const logQ = logSoftmaxRow(yhat, r * cols, cols, t);
    for (let c = 0; c < cols; c++) total += Math.exp(logP[c]) * (logP[c] - logQ[c]);
  }
  return total / rows;
}
