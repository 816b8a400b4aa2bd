import { describe, expect, it } from 'vitest';
import { transpose } from '../../src/ops/transpose.js';
import { randomData, testContext } from '../helpers/gpu.js';

/** Float64-free reference: a transpose moves values, so the result must match bit for bit. */
function transposeRef(src: Float32Array, rows: number, cols: number, rowStride: number, offset: number): number[][] {
  return Array.from({ length: cols }, (_, c) => Array.from({ length: rows }, (_, r) => src[offset + r * rowStride + c]));
}

describe('transpose', () => {
  // [rows, cols, row stride, offset, out row stride]
  for (const [rows, cols, rowStride, offset, outStride] of [
    [1, 1, 1, 0, 1],
    [7, 5, 5, 0, 64],
    [64, 192, 192, 0, 64],
    [33, 17, 20, 3, 40],
    [300, 9, 9, 1, 320],
  ]) {
    it(`[${rows}, ${cols}] (stride ${rowStride}, offset ${offset}) into rows of ${outStride}`, async () => {
      const ctx = await testContext();
      const src = randomData(offset + rows * rowStride);
      const t = ctx.upload(src, [src.length], 'src');
      const out = transpose(ctx, t, rows, cols, rowStride, offset, outStride, 'out');
      expect(out.shape).toEqual([cols, outStride]);
      const got = await ctx.read(out);
      const ref = transposeRef(src, rows, cols, rowStride, offset);
      for (let c = 0; c < cols; c++) {
        expect(Array.from(got.subarray(c * outStride, c * outStride + rows))).toEqual(ref[c]);
        // The padding keeps the new tensor's NaN poison: nothing is written past a row.
        expect(got.subarray(c * outStride + rows, (c + 1) * outStride).every(Number.isNaN)).toBe(true);
      }
      t.release();
      out.release();
    });
  }

  it('refuses a short row stride and a matrix past its buffer', async () => {
    const ctx = await testContext();
    const t = ctx.upload(randomData(20), [20], 'src');
    expect(() => transpose(ctx, t, 4, 5, 5, 0, 3, 'out')).toThrow(/below the 4 values/);
    expect(() => transpose(ctx, t, 4, 5, 5, 1, 8, 'out')).toThrow(/reaches past/);
    t.release();
  });
});
