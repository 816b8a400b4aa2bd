/** Float64 reference for LayerNorm's input gradient (biased variance, as PyTorch; gamma and beta frozen). */
export function layerNormBackwardRef(x: ArrayLike<number>, gamma: ArrayLike<number>, dy: ArrayLike<number>, rows: number, dim: number, eps: number): Float64Array {
  const dx = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let mean = 0;
    for (let d = 0; d < dim; d++) mean += x[o + d];
    mean /= dim;
    let v = 0;
    for (let d = 0; d < dim; d++) v += (x[o + d] - mean) ** 2;
    const rstd = 1 / Math.sqrt(v / dim + eps);
    // y = xhat * gamma + beta: with g = dy * gamma, dxhat = g, and the chain through mean and rstd
    // gives dx = rstd * (g - mean(g) - xhat * mean(g * xhat)).
    let meanG = 0;
    let meanGx = 0;
    for (let d = 0; d < dim; d++) {
      const g = dy[o + d] * gamma[d];
      meanG += g;
      meanGx += g * (x[o + d] - mean) * rstd;
    }
    meanG /= dim;
    meanGx /= dim;
    for (let d = 0; d < dim; d++) {
      const xhat = (x[o + d] - mean) * rstd;
      dx[o + d] = rstd * (dy[o + d] * gamma[d] - meanG - xhat * meanGx);
    }
  }
  return dx;
}
