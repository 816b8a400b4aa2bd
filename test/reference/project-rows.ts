/** Float64 reference of project-rows: out[m, n] = Σ_k x[m, k] g[n, k], x [M, K], g [N, K]. */
export function projectRowsRef(x: ArrayLike<number>, g: ArrayLike<number>, M: number, N: number, K: number): Float64Array {
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += x[m * K + k] * g[n * K + k];
      out[m * N + n] = s;
    }
  return out;
}

/** Σ_k |x[m, k] g[n, k]|: the scale float32 summation errors are relative to. */
export function projectRowsMagnitude(x: ArrayLike<number>, g: ArrayLike<number>, M: number, N: number, K: number): Float64Array {
  return projectRowsRef(Float64Array.from(x, Math.abs), Float64Array.from(g, Math.abs), M, N, K);
}
