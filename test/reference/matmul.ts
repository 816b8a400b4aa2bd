/** Float64 reference for nn.Linear / strided matmul. */
export function linearRef(x: ArrayLike<number>, w: ArrayLike<number>, bias: ArrayLike<number> | null, rows: number, inF: number, outF: number): Float64Array {
  const y = new Float64Array(rows * outF);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outF; o++) {
      let acc = bias ? bias[o] : 0;
      for (let k = 0; k < inF; k++) acc += x[r * inF + k] * w[o * inF + k];
      y[r * outF + o] = acc;
    }
  }
  return y;
}

/** Plain batched C[b] = alpha * A[b] (M x K, row-major) . B[b] (K x N, row-major). */
export function matmulRef(a: ArrayLike<number>, b: ArrayLike<number>, batch: number, M: number, N: number, K: number, alpha = 1): Float64Array {
  const c = new Float64Array(batch * M * N);
  for (let bi = 0; bi < batch; bi++)
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += a[bi * M * K + m * K + k] * b[bi * K * N + k * N + n];
        c[bi * M * N + m * N + n] = alpha * acc;
      }
  return c;
}
