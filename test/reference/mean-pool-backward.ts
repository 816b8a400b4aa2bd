/** float64 reference of mean-pool-backward: dx[b, t, d] = dy[b, d] / T. */
export function meanPoolBackwardRef(dy: Float32Array, batch: number, tokens: number, dim: number): Float64Array {
  const dx = new Float64Array(batch * tokens * dim);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < tokens; t++) {
      for (let d = 0; d < dim; d++) dx[(b * tokens + t) * dim + d] = dy[b * dim + d]! / tokens;
    }
  }
  return dx;
}
