/** float64 reference of mean-pool: out[b, d] = mean over t of x[b, t, d]. */
export function meanPoolRef(x: Float32Array, batch: number, tokens: number, dim: number): Float64Array {
  const out = new Float64Array(batch * dim);
  for (let b = 0; b < batch; b++) {
    for (let d = 0; d < dim; d++) {
      let s = 0;
      for (let t = 0; t < tokens; t++) s += x[(b * tokens + t) * dim + d]!;
      out[b * dim + d] = s / tokens;
    }
  }
  return out;
}
