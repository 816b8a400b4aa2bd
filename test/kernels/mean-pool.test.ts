import { describe, it } from 'vitest';
import { meanPool } from '../../src/ops/mean-pool.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { meanPoolRef } from '../reference/mean-pool.js';

describe('mean-pool', () => {
  for (const [batch, tokens, dim] of [[1, 1, 1], [3, 49, 7], [2, 196, 257]]) {
    it(`B=${batch} T=${tokens} D=${dim}`, async () => {
      const ctx = await testContext();
      const x = randomData(batch * tokens * dim, 3, tokens + dim);
      const xT = ctx.upload(x, [batch, tokens, dim], 'x');
      const out = meanPool(ctx, xT, 'out');
      expectClose(await ctx.read(out), meanPoolRef(x, batch, tokens, dim), 1e-6, 1e-5, 'mean-pool');
      xT.release();
      out.release();
    });
  }
});
