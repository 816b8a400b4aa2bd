/** Float64 reference: dx[b, 0, :] = dy[b, :], zero for every other token. */
export function clsPoolBackwardRef(dy: ArrayLike<number>, batch: number, tokens: number, dim: number): Float64Array {
  const dx = new Float64Array(batch * tokens * dim);
  for (let b = 0; b < batch; b++) for (let d = 0; d < dim; d++) dx[b * tokens * dim + d] = dy[b * dim + d];
  return dx;
}
