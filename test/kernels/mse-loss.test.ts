import { describe, expect, it } from 'vitest';
import { mseLoss } from '../../src/ops/mse-loss.js';
import { ELEMENTS_PER_PARTIAL, MAX_PARTIALS, partialCount } from '../../src/ops/reduce-partials.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { mseLossRef } from '../reference/mse-loss.js';

// Other scalars that share the output tensor; only out[outIndex] may change.
const SENTINELS = Float32Array.from([7.5, -1, 3.25, 0.125]);

describe('mse-loss', () => {
  // [rows B, row size D, output slot, weighted]: from one partial sum to MAX_PARTIALS of them (the last
  // rows x D > 16 MAX_PARTIALS, so each invocation sums more than 16 elements).
  for (const [rows, D, outIndex, weighted] of [
    [1, 1, 0, false], [1, 5, 3, false], [7, 1, 1, false], [7, 130, 2, false], [32, 5, 0, false], [32, 130, 1, false],
    [1, 3200, 2, false], [7, 3200, 3, false], [32, 4099, 1, false],
    [2, 524309, 0, false], [1, 1, 2, true], [7, 130, 0, true], [32, 4099, 3, true],
  ] as const) {
    it(`${rows} rows of ${D} into out[${outIndex}]${weighted ? ', weighted' : ''}`, async () => {
      const ctx = await testContext();
      const yhat = randomData(rows * D, 2);
      const y = randomData(rows * D, 1.5);
      const weight = weighted ? randomData(rows * D, 3) : undefined;
      const [yhatT, yT] = [ctx.upload(yhat, [rows, D], 'yhat'), ctx.upload(y, [rows, D], 'y')];
      const weightT = weight && ctx.upload(weight, [rows, D], 'weight');
      const out = ctx.upload(SENTINELS, [SENTINELS.length], 'out');
      mseLoss(ctx, yhatT, yT, rows, out, outIndex, weightT);
      const first = await ctx.read(out);
      const expected = Float64Array.from(SENTINELS);
      expected[outIndex] = mseLossRef(yhat, y, rows, weight);
      expectClose(first, expected, 0, 1e-5, 'mse loss');
      for (let i = 0; i < SENTINELS.length; i++) if (i !== outIndex) expect(first[i]).toBe(SENTINELS[i]);
      // A fixed reduction order gives the same bits every time.
      mseLoss(ctx, yhatT, yT, rows, out, outIndex, weightT);
      expect((await ctx.read(out))[outIndex]).toBe(first[outIndex]);
      for (const t of [yhatT, yT, out, weightT]) t?.release();
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

  it('the partial sums come from the size alone: a DeiT-S output gets over a thousand workgroups, at most MAX_PARTIALS sums', () => {
    expect(partialCount(1)).toBe(1);
    expect(partialCount(ELEMENTS_PER_PARTIAL)).toBe(1);
    expect(partialCount(ELEMENTS_PER_PARTIAL + 1)).toBe(2);
    // 64 invocations per workgroup.
    expect(partialCount(32 * 197 * 384) / 64).toBeGreaterThanOrEqual(1024);
    expect(partialCount(2 ** 30)).toBe(MAX_PARTIALS);
  });
});
