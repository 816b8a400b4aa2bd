/** Float64 reference: |x - y| element-wise. */
export function absDiffRef(x: ArrayLike<number>, y: ArrayLike<number>): Float64Array {
  return Float64Array.from(x as ArrayLike<number>, (v, i) => Math.abs(v - y[i]));
}
