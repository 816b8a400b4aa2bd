/** Float64 reference for packed-weight-linear: dequantize the weight codes, then a plain linear loop. */
export function packedWeightLinearRef(
  x: ArrayLike<number>, codes: ArrayLike<number>, sw: ArrayLike<number>, zw: ArrayLike<number>, bias: ArrayLike<number> | null,
  M: number, K: number, N: number,
): Float64Array {
  const wf = new Float64Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) wf[n * K + k] = (codes[n * K + k] - zw[n]) * sw[n];
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = bias ? bias[n] : 0;
      for (let k = 0; k < K; k++) s += x[m * K + k] * wf[n * K + k];
      y[m * N + n] = s;
    }
  }
  return y;
}
