import { describe, expect, it } from 'vitest';
import { attentionBias } from '../../src/ops/attention-bias.js';
import { randomData, testContext } from '../helpers/gpu.js';
import { attentionBiasRef } from '../reference/attention-bias.js';

describe('attention-bias', () => {
  // [repeats, period]: one image of one window, images of 4 windows x 3 heads x 49², an odd period.
  for (const [repeats, period] of [[1, 1], [2, 4 * 3 * 49 * 49], [7, 1013]]) {
    it(`${repeats} repeats of ${period}`, async () => {
      const ctx = await testContext();
      const scores = randomData(repeats * period, 4, period);
      const bias = randomData(period, 2, period + 1);
      const s = ctx.upload(scores, [repeats, period], 'scores');
      const b = ctx.upload(bias, [period], 'bias');
      attentionBias(ctx, s, b);
      // One float32 addition of two float32 values: exactly the rounded float64 sum.
      expect(Array.from(await ctx.read(s))).toEqual(Array.from(attentionBiasRef(scores, bias), Math.fround));
      s.release();
      b.release();
    });
  }
});
