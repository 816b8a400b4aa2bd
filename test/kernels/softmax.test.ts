import { describe, it } from 'vitest';
import { softmax } from '../../src/ops/softmax.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { softmaxRef } from '../reference/softmax.js';

describe('softmax', () => {
  for (const [rows, cols] of [[1, 1], [3, 5], [65, 50], [200, 197], [7, 1000]]) {
    it(`rows=${rows} cols=${cols}`, async () => {
      const ctx = await testContext();
      const x = randomData(rows * cols, 8);
      const xt = ctx.upload(x, [rows, cols], 'x');
      const y = softmax(ctx, xt, 'y');
      expectClose(await ctx.read(y), softmaxRef(x, rows, cols), 1e-7, 1e-5, 'softmax');
      xt.release();
      y.release();
    });
  }
});
