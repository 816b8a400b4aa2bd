import { describe, it } from 'vitest';
import { absDiff } from '../../src/ops/abs-diff.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { absDiffRef } from '../reference/abs-diff.js';

describe('abs-diff', () => {
  for (const count of [1, 255, 70001]) {
    it(`count=${count}`, async () => {
      const ctx = await testContext();
      const [x, y] = [randomData(count, 3), randomData(count, 3)];
      const [xt, yt] = [ctx.upload(x, [count], 'x'), ctx.upload(y, [count], 'y')];
      const out = absDiff(ctx, xt, yt, 'out');
      expectClose(await ctx.read(out), absDiffRef(x, y), 1e-7, 1e-7, 'abs diff');
      for (const t of [xt, yt, out]) t.release();
    });
  }
});
