import { describe, it } from 'vitest';
import { gelu } from '../../src/ops/gelu.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { geluRef } from '../reference/gelu.js';

describe('gelu (exact erf form)', () => {
  for (const [count, scale] of [[1, 1], [255, 4], [1000, 8], [70001, 6]]) {
    it(`count=${count} range=±${scale}`, async () => {
      const ctx = await testContext();
      const x = randomData(count, scale);
      const xt = ctx.upload(x, [count], 'x');
      const y = gelu(ctx, xt, 'y');
      expectClose(await ctx.read(y), geluRef(x), 3e-7, 2e-6, 'gelu');
      xt.release();
      y.release();
    });
  }
});
