/** RowCache: rows put, uploaded, sliced, gathered and read across chunk boundaries come back exactly. */
import { describe, expect, it } from 'vitest';
import { RowCache } from '../../src/quant/capture.js';
import { uniforms } from '../../src/util/prng.js';
import { randomData, testContext } from '../helpers/gpu.js';

describe('RowCache', () => {
  for (const chunkRows of [100, 7, 1]) {
    it(`23 rows of 2x3 in chunks of ${chunkRows} rows`, async () => {
      const ctx = await testContext();
      const [M, rowShape] = [23, [2, 3]];
      const D = 6;
      const data = randomData(M * D, 2);
      const cache = new RowCache(ctx, M, rowShape, 'cache', chunkRows * D * 4);
      expect(cache.chunks.length).toBe(Math.ceil(M / Math.min(chunkRows, M)));
      // Put in uneven batches that straddle chunk boundaries.
      for (const [from, n] of [[0, 5], [5, 9], [14, 9]]) {
        const t = ctx.upload(data.subarray(from * D, (from + n) * D), [n, ...rowShape], 'part');
        cache.put(t, from);
        t.release();
      }
      const slice = cache.slice(4, 12, 'slice');
      expect(Array.from(await ctx.read(slice))).toEqual(Array.from(data.subarray(4 * D, 16 * D)));
      const indices = Uint32Array.from(uniforms(3, 4, 16), (u) => Math.min(M - 1, Math.floor(u * M)));
      const idx = ctx.upload(indices, [16], 'indices');
      const out = ctx.empty([16, ...rowShape], 'out');
      cache.gather(idx, out);
      const expected = Array.from(indices).flatMap((r) => Array.from(data.subarray(r * D, (r + 1) * D)));
      expect(Array.from(await ctx.read(out))).toEqual(expected);
      for (const t of [slice, idx, out]) t.release();
      cache.release();
    });
  }

  it('rows per chunk given: uploads host rows into the chunks and reads them back', async () => {
    const ctx = await testContext();
    const [M, rowShape, D] = [11, [3], 3];
    const data = randomData(M * D, 2);
    const cache = RowCache.upload(ctx, data, M, rowShape, 'cache', { rowsPerChunk: 4 });
    expect(cache.chunks.map((c) => c.shape[0])).toEqual([4, 4, 3]);
    expect(Array.from(await cache.read())).toEqual(Array.from(data));
    const slice = cache.slice(3, 6, 'slice');
    expect(Array.from(await ctx.read(slice))).toEqual(Array.from(data.subarray(3 * D, 9 * D)));
    expect(() => RowCache.upload(ctx, data.subarray(1), M, rowShape, 'short')).toThrow(/32 values for 11 rows/);
    slice.release();
    cache.release();
  });
});
