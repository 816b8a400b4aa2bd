import { describe, expect, it } from 'vitest';
import { clsPoolBackward } from '../../src/ops/cls-pool-backward.js';
import { randomData, testContext } from '../helpers/gpu.js';
import { clsPoolBackwardRef } from '../reference/cls-pool-backward.js';

describe('cls-pool-backward', () => {
  for (const [batch, tokens, dim] of [[1, 1, 1], [3, 5, 7], [4, 197, 192]]) {
    it(`B=${batch} T=${tokens} D=${dim}`, async () => {
      const ctx = await testContext();
      const dy = randomData(batch * dim, 2);
      const dyT = ctx.upload(dy, [batch, dim], 'dy');
      const dx = clsPoolBackward(ctx, dyT, tokens, 'dx');
      expect(dx.shape).toEqual([batch, tokens, dim]);
      expect(Array.from(await ctx.read(dx))).toEqual(Array.from(clsPoolBackwardRef(dy, batch, tokens, dim)));
      dyT.release();
      dx.release();
    });
  }
});
