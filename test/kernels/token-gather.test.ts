import { describe, expect, it } from 'vitest';
import { ZERO_ROW, tokenGather } from '../../src/ops/token-gather.js';
import { randomData, testContext } from '../helpers/gpu.js';
import { tokenGatherRef } from '../reference/token-gather.js';

/** A seeded map of `outRows` entries into `srcRows` rows, with some zero rows and repeats. */
function randomMap(outRows: number, srcRows: number, seed: number): Uint32Array {
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
  return Uint32Array.from({ length: outRows }, () => (next() < 0.15 ? ZERO_ROW : Math.floor(next() * srcRows)));
}

describe('token-gather', () => {
  for (const [batch, srcRows, outRows, cols] of [[1, 1, 1, 1], [3, 49, 64, 5], [2, 196, 49 * 4, 32], [5, 7, 13, 97]]) {
    it(`B=${batch} ${srcRows} rows -> ${outRows} rows of ${cols}`, async () => {
      const ctx = await testContext();
      const src = randomData(batch * srcRows * cols, 3, srcRows + cols);
      const map = randomMap(outRows, srcRows, outRows * 7 + 1);
      const srcT = ctx.upload(src, [batch, srcRows, cols], 'src');
      const mapT = ctx.upload(map, [outRows], 'map');
      const out = tokenGather(ctx, srcT, mapT, batch, cols, [batch * outRows, cols], 'out');
      expect(out.shape).toEqual([batch * outRows, cols]);
      // A copy is exact, and zero rows are written (the context poisons new buffers with NaN).
      expect(Array.from(await ctx.read(out))).toEqual(Array.from(tokenGatherRef(src, map, batch, cols)));
      for (const t of [srcT, mapT, out]) t.release();
    });
  }
});
