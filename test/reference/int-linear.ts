/**
 * CPU references for int-linear, written from the definition (no zero-point expansion):
 * integer accumulators acc[m][n] = sum_k (x[m][k] - zx) * (w[n][k] - zw[n]) and the float64 output
 * y[m][n] = sx[m mod T] * sw[n] * acc[m][n] + bias[n].
 */

/** Exact accumulators: x codes [M, K], w codes [N, K]; every partial sum stays far below 2^53. */
export function intLinearAccRef(
  x: ArrayLike<number>, zx: number, w: ArrayLike<number>, zw: ArrayLike<number>, M: number, N: number, K: number,
): Float64Array {
  const acc = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (x[m * K + k] - zx) * (w[n * K + k] - zw[n]);
      acc[m * N + n] = s;
    }
  }
  return acc;
}

/** Float64 output from the accumulators [M, N]; row m takes sx[m mod T]. */
export function intLinearRef(
  acc: ArrayLike<number>, sx: ArrayLike<number>, T: number, sw: ArrayLike<number>, bias: ArrayLike<number> | null, M: number, N: number,
): Float64Array {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) y[m * N + n] = sx[m % T] * sw[n] * acc[m * N + n] + (bias ? bias[n] : 0);
  }
  return y;
}
