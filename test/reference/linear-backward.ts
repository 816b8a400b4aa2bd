/** Float64 references for the gradients of y = x.W^T + b: dX = dY.W and dW = dY^T.X over all rows. */
export function linearInputGradRef(dy: ArrayLike<number>, w: ArrayLike<number>, rows: number, outF: number, inF: number): Float64Array {
  const dx = new Float64Array(rows * inF);
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < inF; i++) {
      let acc = 0;
      for (let o = 0; o < outF; o++) acc += dy[r * outF + o] * w[o * inF + i];
      dx[r * inF + i] = acc;
    }
  return dx;
}

export function linearWeightGradRef(dy: ArrayLike<number>, x: ArrayLike<number>, rows: number, outF: number, inF: number): Float64Array {
  const dw = new Float64Array(outF * inF);
  for (let o = 0; o < outF; o++)
    for (let i = 0; i < inF; i++) {
      let acc = 0;
      for (let r = 0; r < rows; r++) acc += dy[r * outF + o] * x[r * inF + i];
      dw[o * inF + i] = acc;
    }
  return dw;
}
