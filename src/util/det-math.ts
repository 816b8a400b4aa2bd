/**
 * exp, log, cos and integer powers from additions, multiplications and divisions alone, so every
 * JavaScript engine computes the same bits. `Math.exp`, `Math.log`, `Math.cos` and `**` are not
 * specified to the last bit, and Node 20's V8 and Chromium's differ on about one input in ten (by
 * one unit in the last place); a quantized file that records host-computed values (learning
 * rates fed to the GPU, the head's error) would then differ between the CLI and the web app.
 * Accuracy: a few units in the last place, plenty for schedules and reported errors.
 */

const LN2_HI = 6.93147180369123816490e-1; // ln 2 to 32 bits: k · LN2_HI is exact for |k| < 2^20
const LN2_LO = 1.90821492927058770002e-10;
const TWO_PI = 2 * Math.PI;

/** b^n for an integer n >= 0 by repeated squaring: one fixed sequence of multiplications. */
export function powInt(b: number, n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new Error(`powInt: exponent ${n} is not a non-negative integer`);
  let result = 1;
  let base = b;
  for (let e = n; e > 0; e = Math.floor(e / 2)) {
    if (e % 2 === 1) result *= base;
    base *= base;
  }
  return result;
}

/** 2^k for an integer k, exactly (in two factors, so neither overflows or underflows on its own). */
function pow2(k: number): number {
  const half = Math.trunc(k / 2);
  const f = (n: number) => (n >= 0 ? powInt(2, n) : 1 / powInt(2, -n));
  return f(half) * f(k - half);
}

export function detExp(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x > 709.782712893384) return Infinity;
  if (x < -745.1332191019412) return 0;
  // x = k ln2 + r, |r| <= ln2 / 2: exp(x) = 2^k exp(r), exp(r) by its Taylor series (Horner).
  const k = Math.round(x / (LN2_HI + LN2_LO));
  const r = x - k * LN2_HI - k * LN2_LO;
  let term = 1;
  for (let n = 17; n >= 1; n--) term = 1 + (r * term) / n;
  return term * pow2(k);
}

export function detLog(x: number): number {
  if (Number.isNaN(x) || x < 0) return NaN;
  if (x === 0) return -Infinity;
  if (x === Infinity) return Infinity;
  // x = m · 2^e with m in [sqrt(1/2), sqrt(2)): the exponent from the bits, then
  // log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172, by its series.
  let m = x;
  let e = 0;
  if (m < 2 ** -1020) {
    m *= 2 ** 60;
    e -= 60;
  }
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, m);
  const biased = (view.getUint16(0) >> 4) & 0x7ff;
  e += biased - 1023;
  view.setUint16(0, (view.getUint16(0) & 0x800f) | (1023 << 4));
  m = view.getFloat64(0);
  if (m > Math.SQRT2) {
    m /= 2;
    e += 1;
  }
  const s = (m - 1) / (m + 1);
  const s2 = s * s;
  let series = 0;
  for (let n = 41; n >= 1; n -= 2) series = 1 / n + s2 * series;
  return e * LN2_HI + (e * LN2_LO + 2 * s * series);
}

export function detCos(x: number): number {
  if (!Number.isFinite(x)) return NaN;
  // Reduced to [-pi, pi], then the Taylor series of cos (Horner in r²).
  const r = x - Math.round(x / TWO_PI) * TWO_PI;
  const r2 = r * r;
  let series = 1;
  for (let n = 30; n >= 2; n -= 2) series = 1 - (r2 * series) / (n * (n - 1));
  return series;
}

