import { describe, it } from 'vitest';
import { meanPoolBackward } from '../../src/ops/mean-pool-backward.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { meanPoolBackwardRef } from '../reference/mean-pool-backward.js';

describe('mean-pool-backward', () => {
  for (const [batch, tokens, dim] of [[1, 1, 1], [3, 49, 7], [2, 196, 257]]) {
    it(`B=${batch} T=${tokens} D=${dim}`, async () => {
      const ctx = await testContext();
      const dy = randomData(batch * dim, 5, tokens + dim);
      const dyT = ctx.upload(dy, [batch, dim], 'dy');
      const dx = meanPoolBackward(ctx, dyT, tokens, 'dx');
      expectClose(await ctx.read(dx), meanPoolBackwardRef(dy, batch, tokens, dim), 1e-6, 1e-6, 'mean-pool-backward');
      dyT.release();
      dx.release();
    });
  }
});
