/** Float64 reference for the exact GELU, 0.5 x (1 + erf(x / sqrt 2)); erf by its Taylor series / continued fraction. */
export function erf(x: number): number {
  const z = Math.abs(x);
  let r: number;
  if (z < 3) {
    // Maclaurin series: converges fast for |x| < 3 in float64.
    let term = z;
    let sum = z;
    for (let n = 1; n < 200; n++) {
      term *= (-z * z) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // Continued fraction for erfc, accurate for large |x|.
    let f = 0;
    for (let n = 60; n >= 1; n--) f = n / 2 / (z + f);
    r = 1 - Math.exp(-z * z) / Math.sqrt(Math.PI) / (z + f);
  }
  return x < 0 ? -r : r;
}

export function geluRef(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x as ArrayLike<number>, (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
}
