import { describe, expect, it } from 'vitest';
import { perColumnQuantiles, perRowQuantiles, quantile, quantiles, sortedCopy } from '../../src/quant/quantile.js';
import { uniforms } from '../../src/util/prng.js';

describe('quantile (torch.quantile, linear interpolation)', () => {
  const sorted = Float64Array.from([1, 2, 3, 4]);

  it('interpolates at pos = q(n-1)', () => {
    expect(quantile(sorted, 0.5)).toBe(2.5); // pos 1.5
    expect(quantile(sorted, 1 / 3)).toBe(2); // pos 1, exactly on a value
    expect(quantile(sorted, 0.1)).toBeCloseTo(1.3, 15); // pos 0.3
    expect(quantile(sorted, 0.9)).toBeCloseTo(3.7, 15); // pos 2.7
  });

  it('returns the ends exactly at q = 0 and q = 1', () => {
    expect(quantile(sorted, 0)).toBe(1);
    expect(quantile(sorted, 1)).toBe(4);
  });

  it('handles duplicates and a single value', () => {
    const dup = Float64Array.from([1, 1, 1, 5]);
    expect(quantile(dup, 0.5)).toBe(1); // pos 1.5 between two 1s
    expect(quantile(dup, 0.9)).toBeCloseTo(3.8, 14); // pos 2.7: 1 + 0.7·4
    for (const q of [0, 0.3, 1]) expect(quantile(Float32Array.from([-2.5]), q)).toBe(-2.5);
  });

  it('rejects empty input and levels outside [0, 1]', () => {
    expect(() => quantile(new Float64Array(0), 0.5)).toThrow(/no values/);
    expect(() => quantile(sorted, 1.5)).toThrow(/outside/);
    expect(() => quantile(sorted, NaN)).toThrow(/outside/);
  });

  it('quantiles sorts a copy once and leaves the input alone', () => {
    const x = Float32Array.from(uniforms(1, 0, 101), (u) => 4 * u - 1);
    const before = Float32Array.from(x);
    const s = sortedCopy(x);
    expect(quantiles(x, [0, 0.25, 0.5, 1])).toEqual([s[0], s[25], s[50], s[100]]);
    expect(x).toEqual(before);
    expect(quantiles([3, 1, 2], [0.5, 0.75])).toEqual([2, 2.5]);
  });

  it('perRowQuantiles and perColumnQuantiles match quantiles of each row / column', () => {
    const rows = 5;
    const cols = 7;
    const data = Float32Array.from(uniforms(2, 0, rows * cols), (u) => 2 * u - 1);
    const qs = [0, 0.1, 0.9, 1];
    const byRow = perRowQuantiles(data, rows, cols, qs);
    for (let r = 0; r < rows; r++) expect(Array.from(byRow.subarray(r * 4, r * 4 + 4))).toEqual(quantiles(data.subarray(r * cols, (r + 1) * cols), qs));
    const byColumn = perColumnQuantiles(data, rows, cols, qs);
    for (let c = 0; c < cols; c++) {
      const column = Array.from({ length: rows }, (_, r) => data[r * cols + c]);
      expect(Array.from(byColumn.subarray(c * 4, c * 4 + 4))).toEqual(quantiles(column, qs));
    }
    expect(() => perRowQuantiles(data, rows, cols + 1, qs)).toThrow(/values for/);
  });
});
