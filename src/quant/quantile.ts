/**
 * Quantiles as `torch.quantile` computes them by default (interpolation='linear'): for sorted
 * values v[0..n-1], pos = q·(n-1), and the result interpolates between v[floor(pos)] and
 * v[ceil(pos)]. The calibration candidates of ../shared/docs/fimaq-method.md §4 are built from these.
 *
 * Deviation from the official code: torch.quantile refuses inputs above 16M elements, and the
 * official code then splits the tensor into 2, 4, ... chunks and averages the chunks' quantiles
 * (an approximation). We always compute the exact quantile of the whole tensor, so results differ
 * from the official ones only for tensors above that size (e.g. a whole 128-image attention map).
 */

export type FloatArray = Float32Array | Float64Array;

/** The q-quantile of already sorted (ascending) values. */
export function quantile(sorted: FloatArray, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new Error('quantile: no values');
  if (!(q >= 0 && q <= 1)) throw new Error(`quantile: level ${q} is outside [0, 1]`);
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const t = pos - lo;
  const a = sorted[lo];
  const b = sorted[hi];
  // torch's lerp form: exact at both ends, and equal neighbours give exactly that value.
  return t < 0.5 ? a + t * (b - a) : b - (b - a) * (1 - t);
}

/** A sorted copy; the input is left as it is. */
export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

/** Several quantiles of unsorted values, sorting a copy once. */
export function quantiles(values: ArrayLike<number>, qs: readonly number[]): number[] {
  const sorted = sortedCopy(values);
  return qs.map((q) => quantile(sorted, q));
}

/** Quantiles of each row of a row-major [rows, cols] matrix: result [rows, qs.length], row-major. */
export function perRowQuantiles(data: ArrayLike<number>, rows: number, cols: number, qs: readonly number[]): Float64Array {
  checkShape(data, rows, cols, 'perRowQuantiles');
  const out = new Float64Array(rows * qs.length);
  const row = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) row[c] = data[r * cols + c];
    row.sort();
    qs.forEach((q, i) => (out[r * qs.length + i] = quantile(row, q)));
  }
  return out;
}

/** Quantiles of each column of a row-major [rows, cols] matrix: result [cols, qs.length], row-major. */
export function perColumnQuantiles(data: ArrayLike<number>, rows: number, cols: number, qs: readonly number[]): Float64Array {
  checkShape(data, rows, cols, 'perColumnQuantiles');
  const out = new Float64Array(cols * qs.length);
  const column = new Float64Array(rows);
  for (let c = 0; c < cols; c++) {
    for (let r = 0; r < rows; r++) column[r] = data[r * cols + c];
    column.sort();
    qs.forEach((q, i) => (out[c * qs.length + i] = quantile(column, q)));
  }
  return out;
}

function checkShape(data: ArrayLike<number>, rows: number, cols: number, what: string): void {
  if (rows < 1 || cols < 1 || data.length !== rows * cols) throw new Error(`${what}: ${data.length} values for ${rows}x${cols}`);
}
