/** Float64 reference for LayerNorm over the last dimension (biased variance, as PyTorch). */
export function layerNormRef(x: ArrayLike<number>, gamma: ArrayLike<number>, beta: ArrayLike<number>, rows: number, dim: number, eps: number): Float64Array {
  const y = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let d = 0; d < dim; d++) mean += x[r * dim + d];
    mean /= dim;
    let v = 0;
    for (let d = 0; d < dim; d++) v += (x[r * dim + d] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / dim + eps);
    for (let d = 0; d < dim; d++) y[r * dim + d] = (x[r * dim + d] - mean) * inv * gamma[d] + beta[d];
  }
  return y;
}
