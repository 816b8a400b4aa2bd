/**
 * Float64 reference of the FIMA-Q loss (../shared/docs/fimaq-method.md §6.2) for yhat, y [B, D],
 * G [rank, D], Binv [rank, rank] and gbar [D]: the two terms, and the gradient of
 * p1 L_LR / norm0 + p2 L_Diag / norm1 with respect to yhat.
 */
export interface DplrInputs {
  yhat: ArrayLike<number>;
  y: ArrayLike<number>;
  g: ArrayLike<number>;
  binv: ArrayLike<number>;
  gbar: ArrayLike<number>;
  rows: number;
  cols: number;
  rank: number;
}

function projections(x: DplrInputs): { delta: Float64Array; a: Float64Array; c: Float64Array } {
  const { rows: B, cols: D, rank: r } = x;
  const delta = Float64Array.from({ length: B * D }, (_, i) => Math.abs(x.yhat[i] - x.y[i]));
  const a = new Float64Array(B * r);
  const c = new Float64Array(B * r);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < r; i++) for (let d = 0; d < D; d++) a[b * r + i] += delta[b * D + d] * x.g[i * D + d];
    for (let i = 0; i < r; i++) for (let j = 0; j < r; j++) c[b * r + i] += a[b * r + j] * x.binv[j * r + i];
  }
  return { delta, a, c };
}

export function dplrLossRef(x: DplrInputs): { lowRank: number; diag: number } {
  const { a, c } = projections(x);
  return dplrTermsRef(x.yhat, x.y, x.gbar, a, c, x.rows, x.cols);
}

/** The two terms from given A and C ([B, rank]): (1/B) Σ A∘C and (1/(B D)) Σ gbar[d] (yhat - y)². */
export function dplrTermsRef(
  yhat: ArrayLike<number>,
  y: ArrayLike<number>,
  gbar: ArrayLike<number>,
  a: ArrayLike<number>,
  c: ArrayLike<number>,
  rows: number,
  cols: number,
): { lowRank: number; diag: number } {
  let lowRank = 0;
  for (let i = 0; i < a.length; i++) lowRank += a[i] * c[i];
  let diag = 0;
  for (let i = 0; i < rows * cols; i++) diag += gbar[i % cols] * (yhat[i] - y[i]) ** 2;
  return { lowRank: lowRank / rows, diag: diag / (rows * cols) };
}

export function dplrGradRef(x: DplrInputs, norm: [number, number], p1: number, p2: number): Float64Array {
  const { rows: B, cols: D, rank: r } = x;
  const { delta, c } = projections(x);
  const grad = new Float64Array(B * D);
  for (let b = 0; b < B; b++)
    for (let d = 0; d < D; d++) {
      let e = 0;
      for (let i = 0; i < r; i++) e += c[b * r + i] * x.g[i * D + d];
      const diff = x.yhat[b * D + d] - x.y[b * D + d];
      const v = (p1 / norm[0]) * (2 / B) * e + (p2 / norm[1]) * (2 / (B * D)) * x.gbar[d] * delta[b * D + d];
      grad[b * D + d] = Math.sign(diff) * v;
    }
  return grad;
}
