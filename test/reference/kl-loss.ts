/** Float64 reference of PyTorch's kl_div(log_softmax(yhat), log_softmax(t), log_target=True, reduction='batchmean'). */

/** log softmax of x[base .. base + cols), with the maximum subtracted before exp. */
export function logSoftmaxRow(x: ArrayLike<number>, base: number, cols: number): Float64Array {
  let m = -Infinity;
  for (let c = 0; c < cols; c++) m = Math.max(m, x[base + c]);
  let s = 0;
  for (let c = 0; c < cols; c++) s += Math.exp(x[base + c] - m);
  const lse = m + Math.log(s);
  return Float64Array.from({ length: cols }, (_, c) => x[base + c] - lse);
}

/** (1/rows) Σ_r Σ_c p (log p - log q), p = softmax(target[r, :]), q = softmax(yhat[r, :]). */
export function klLossRef(yhat: ArrayLike<number>, target: ArrayLike<number>, rows: number, cols: number): number {
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const logP = logSoftmaxRow(target, r * cols, cols);
    const logQ = logSoftmaxRow(yhat, r * cols, cols);
    for (let c = 0; c < cols; c++) total += Math.exp(logP[c]) * (logP[c] - logQ[c]);
  }
  return total / rows;
}
