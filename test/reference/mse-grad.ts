/** Float64 reference of d(L / norm)/dyhat = 2 w² (yhat - y) / (B · norm), L the (weighted) mse-loss. */
export function mseGradRef(yhat: ArrayLike<number>, y: ArrayLike<number>, rows: number, norm: number, weight?: ArrayLike<number>): Float64Array {
  const g = new Float64Array(yhat.length);
  for (let i = 0; i < yhat.length; i++) g[i] = (2 * (weight ? weight[i] ** 2 : 1) * (yhat[i] - y[i])) / (rows * norm);
  return g;
}
