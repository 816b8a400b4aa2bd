/** Float64 reference of sum-slices: c[m, n] = alpha Σ_s slices[s, m, n] (+ bias[n]), as rows of N. */
export function sumSlicesRef(slices: ArrayLike<number>, count: number, M: number, N: number, alpha: number, bias?: ArrayLike<number>): Float64Array {
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < count; k++) s += slices[(k * M + m) * N + n];
      out[m * N + n] = alpha * s + (bias ? bias[n] : 0);
    }
  return out;
}
