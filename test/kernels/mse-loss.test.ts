import { describe, expect, it } from 'vitest';
import { mseLoss } from '../../src/ops/mse-loss.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { mseLossRef } from '../reference/mse-loss.js';

// Other scalars that share the output tensor; only out[outIndex] may change.
const SENTINELS = Float32Array.from([7.5, -1, 3.25, 0.125]);

describe('mse-loss', () => {
  // [rows B, row size D, output slot]
  for (const [rows, D, outIndex] of [[1, 1, 0], [1, 5, 3], [7, 1, 1], [7, 130, 2], [32, 5, 0], [32, 130, 1], [1, 3200, 2], [7, 3200, 3]]) {
    it(`${rows} rows of ${D} into out[${outIndex}]`, async () => {
      const ctx = await testContext();
      const yhat = randomData(rows * D, 2);
      const y = randomData(rows * D, 1.5);
      const [yhatT, yT] = [ctx.upload(yhat, [rows, D], 'yhat'), ctx.upload(y, [rows, D], 'y')];
      const out = ctx.upload(SENTINELS, [SENTINELS.length], 'out');
      mseLoss(ctx, yhatT, yT, rows, out, outIndex);
      const first = await ctx.read(out);
      const expected = Float64Array.from(SENTINELS);
      expected[outIndex] = mseLossRef(yhat, y, rows);
      expectClose(first, expected, 0, 1e-5, 'mse loss');
      for (let i = 0; i < SENTINELS.length; i++) if (i !== outIndex) expect(first[i]).toBe(SENTINELS[i]);
      // A fixed reduction order gives the same bits every time.
      mseLoss(ctx, yhatT, yT, rows, out, outIndex);
      expect((await ctx.read(out))[outIndex]).toBe(first[outIndex]);
      for (const t of [yhatT, yT, out]) t.release();
    });
  }

  it('keeps 1e-5 relative accuracy when yhat is close to y over 8000 elements', async () => {
    const ctx = await testContext();
    const [rows, D] = [16, 500];
    const y = randomData(rows * D, 4);
    const err = randomData(rows * D, 1e-3);
    const yhat = Float32Array.from(y, (v, i) => v + err[i]);
    const [yhatT, yT] = [ctx.upload(yhat, [rows, D], 'yhat'), ctx.upload(y, [rows, D], 'y')];
    const out = ctx.empty([1], 'out');
    mseLoss(ctx, yhatT, yT, rows, out);
    expectClose(await ctx.read(out), [mseLossRef(yhat, y, rows)], 0, 1e-5, 'mse loss, small errors');
    for (const t of [yhatT, yT, out]) t.release();
  });
});
