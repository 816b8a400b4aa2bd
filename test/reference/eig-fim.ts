/**
 * Float64 reference of the eig-fim loss for yhat, y [B, D], V = diag(√λ) U [rank, D] and the
 * diagonal d [D]: the terms (1/B) Σ_b |Δ_b Vᵀ|² and (1/B) Σ_b Σ_j d_j Δ_bj² with Δ = yhat − y
 * signed, and the gradient of weight (sum of the terms) / (norm0 + norm1) with respect to yhat.
 */
export interface EigFimInputs {
  yhat: ArrayLike<number>;
  y: ArrayLike<number>;
  v: ArrayLike<number>;
  d: ArrayLike<number>;
  rows: number;
  cols: number;
  rank: number;
}

function projections(x: EigFimInputs): { delta: Float64Array; a: Float64Array } {
  const { rows: B, cols: D, rank: r } = x;
  const delta = Float64Array.from({ length: B * D }, (_, i) => x.yhat[i] - x.y[i]);
  const a = new Float64Array(B * r);
  for (let b = 0; b < B; b++) for (let i = 0; i < r; i++) for (let d = 0; d < D; d++) a[b * r + i] += delta[b * D + d] * x.v[i * D + d];
  return { delta, a };
}

export function eigFimLossRef(x: EigFimInputs): { lowRank: number; diag: number } {
  const { delta, a } = projections(x);
  const lowRank = a.reduce((s, v) => s + v * v, 0) / x.rows;
  let diag = 0;
  for (let i = 0; i < delta.length; i++) diag += x.d[i % x.cols] * delta[i] ** 2;
  return { lowRank, diag: diag / x.rows };
}

export function eigFimGradRef(x: EigFimInputs, norm: [number, number], weight: number): Float64Array {
  const { rows: B, cols: D, rank: r } = x;
  const { delta, a } = projections(x);
  const scale = (weight / (norm[0] + norm[1])) * (2 / B);
  return Float64Array.from({ length: B * D }, (_, i) => {
    const b = Math.floor(i / D);
    const d = i % D;
    let e = 0;
    for (let k = 0; k < r; k++) e += a[b * r + k] * x.v[k * D + d];
    return scale * (e + x.d[d] * delta[i]);
  });
}
