/** Reference row gather: out[b, :] = src[indices[b], :]. */
export function gatherRowsRef(src: ArrayLike<number>, indices: ArrayLike<number>, rowSize: number): Float64Array {
  const out = new Float64Array(indices.length * rowSize);
  for (let b = 0; b < indices.length; b++) {
    for (let d = 0; d < rowSize; d++) out[b * rowSize + d] = src[indices[b] * rowSize + d];
  }
  return out;
}
