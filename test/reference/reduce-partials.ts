/** Float64 reference of reduce-partials: per lane l, (Σ_w partials[l · count + w]) / divisors[l]. */
export function reducePartialsRef(partials: ArrayLike<number>, count: number, divisors: readonly number[]): number[] {
  return divisors.map((div, l) => {
    let s = 0;
    for (let w = 0; w < count; w++) s += partials[l * count + w];
    return s / div;
  });
}
