/** Float64 reference: acc[d] + Σ_b |x[b, d] - y[b, d]| (|x| without y; x² with `square`). */
export function absAccumulateRef(acc: ArrayLike<number>, x: ArrayLike<number>, y: ArrayLike<number> | null, square = false): Float64Array {
  const cols = acc.length;
  const out = Float64Array.from(acc);
  for (let i = 0; i < x.length; i++) out[i % cols] += square ? x[i] ** 2 : Math.abs(x[i] - (y ? y[i] : 0));
  return out;
}
