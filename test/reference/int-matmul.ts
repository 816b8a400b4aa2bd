/** CPU references of int-matmul: the exact integer accumulator and the float64 scaled product. */

/** Codes of `batch` products as plain arrays: a[z][m][k] at (z·M + m)·K + k, b[z][n][k] at (z·N + n)·K + k. */
export interface IntProduct {
  batch: number;
  M: number;
  N: number;
  K: number;
  a: ArrayLike<number>;
  b: ArrayLike<number>;
  /** Zero point of A and of B per product z. */
  za: ArrayLike<number>;
  zb: ArrayLike<number>;
}

/** acc[z][m][n] = Σ_k (a − za)(b − zb), exact: every partial sum stays far below 2^53. */
export function intAccumulatorRef(p: IntProduct): number[] {
  const out: number[] = [];
  for (let z = 0; z < p.batch; z++)
    for (let m = 0; m < p.M; m++)
      for (let n = 0; n < p.N; n++) {
        let acc = 0;
        for (let k = 0; k < p.K; k++) acc += (p.a[(z * p.M + m) * p.K + k] - p.za[z]) * (p.b[(z * p.N + n) * p.K + k] - p.zb[z]);
        if (!Number.isSafeInteger(acc)) throw new Error('reference accumulator left the safe integers');
        out.push(acc);
      }
  return out;
}

/**
 * out[z][m][n] = alpha · sa[z][m] · sb[z][n] · acc[z][m][n] + bias[n] in float64, with sa at
 * z·M + m and sb at z·N + n.
 */
export function intMatmulRef(p: IntProduct, sa: ArrayLike<number>, sb: ArrayLike<number>, alpha: number, bias: ArrayLike<number> | null): Float64Array {
  const acc = intAccumulatorRef(p);
  const out = new Float64Array(acc.length);
  for (let z = 0; z < p.batch; z++)
    for (let m = 0; m < p.M; m++)
      for (let n = 0; n < p.N; n++) {
        const i = (z * p.M + m) * p.N + n;
        out[i] = alpha * sa[z * p.M + m] * sb[z * p.N + n] * acc[i] + (bias ? bias[n] : 0);
      }
  return out;
}
