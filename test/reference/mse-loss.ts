/** Float64 reference of the reconstruction loss L = (1/B) Σ_b Σ_d (w (yhat - y))², w = 1 without weights. */
export function mseLossRef(yhat: ArrayLike<number>, y: ArrayLike<number>, rows: number, weight?: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < yhat.length; i++) s += ((weight ? weight[i] : 1) * (yhat[i] - y[i])) ** 2;
  return s / rows;
}
