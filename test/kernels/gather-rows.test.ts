import { describe, expect, it } from 'vitest';
import { gatherRows } from '../../src/ops/gather-rows.js';
import { uniforms } from '../../src/util/prng.js';
import { randomData, testContext } from '../helpers/gpu.js';
import { gatherRowsRef } from '../reference/gather-rows.js';

let stream = 950;

describe('gather-rows', () => {
  // [source rows M, row size D, gathered rows B]: repeats allowed, so B may exceed M.
  for (const [M, D, B] of [[1, 1, 1], [5, 1, 3], [13, 5, 7], [40, 130, 32], [3, 257, 9], [7, 3200, 2]]) {
    it(`${B} of ${M} rows of ${D}`, async () => {
      const ctx = await testContext();
      const src = randomData(M * D, 3);
      const indices = Uint32Array.from(uniforms(43, stream++, B), (u) => Math.floor(u * M));
      indices[B - 1] = M - 1;
      const srcT = ctx.upload(src, [M, D], 'src');
      const idxT = ctx.upload(indices, [B], 'indices');
      // One spare row past the batch must stay as it was (its NaN poison).
      const out = ctx.empty([B + 1, D], 'out');
      gatherRows(ctx, srcT, idxT, D, out);
      const got = await ctx.read(out);
      // A copy is exact, bit for bit.
      expect(Array.from(got.subarray(0, B * D))).toEqual(Array.from(gatherRowsRef(src, indices, D)));
      expect(got.subarray(B * D).every(Number.isNaN)).toBe(true);
      for (const t of [srcT, idxT, out]) t.release();
    });
  }

  it('fills a minibatch from a cache split into chunks, one dispatch per chunk', async () => {
    const ctx = await testContext();
    const [M, D, B] = [23, 6, 16];
    const src = randomData(M * D, 3);
    const indices = Uint32Array.from(uniforms(44, stream++, B), (u) => Math.floor(u * M));
    indices[0] = 0;
    indices[1] = M - 1;
    const idxT = ctx.upload(indices, [B], 'indices');
    const out = ctx.empty([B, D], 'out');
    // Chunks of 10, 10 and 3 rows.
    for (const first of [0, 10, 20]) {
      const rows = Math.min(10, M - first);
      const chunk = ctx.upload(src.subarray(first * D, (first + rows) * D), [rows, D], 'chunk');
      gatherRows(ctx, chunk, idxT, D, out, first);
      chunk.release();
    }
    expect(Array.from(await ctx.read(out))).toEqual(Array.from(gatherRowsRef(src, indices, D)));
    // A chunk that holds none of the sampled rows writes nothing.
    const untouched = ctx.empty([B, D], 'untouched');
    const far = ctx.upload(src.subarray(0, D), [1, D], 'far');
    gatherRows(ctx, far, idxT, D, untouched, M);
    expect((await ctx.read(untouched)).every(Number.isNaN)).toBe(true);
    for (const t of [idxT, out, untouched, far]) t.release();
  });
});
