/** Float64 reference of the reconstruction loss L = (1/B) Σ_b Σ_d (yhat - y)². */
export function mseLossRef(yhat: ArrayLike<number>, y: ArrayLike<number>, rows: number): number {
  let s = 0;
  for (let i = 0; i < yhat.length; i++) s += (yhat[i] - y[i]) ** 2;
  return s / rows;
}
