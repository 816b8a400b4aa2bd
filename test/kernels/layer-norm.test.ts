import { describe, it } from 'vitest';
import { layerNorm } from '../../src/ops/layer-norm.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { layerNormRef } from '../reference/layer-norm.js';

describe('layer-norm', () => {
  for (const [rows, dim] of [[1, 1], [1, 7], [5, 64], [67, 33], [130, 192], [3, 768]]) {
    it(`rows=${rows} dim=${dim}`, async () => {
      const ctx = await testContext();
      // An offset mean tests the two-pass variance.
      const x = randomData(rows * dim, 3).map((v) => v + 5);
      const g = randomData(dim).map((v) => 1 + 0.5 * v);
      const b = randomData(dim, 0.3);
      const [xt, gt, bt] = [ctx.upload(x, [rows, dim], 'x'), ctx.upload(g, [dim], 'g'), ctx.upload(b, [dim], 'b')];
      const y = layerNorm(ctx, xt, gt, bt, 1e-6, 'y');
      expectClose(await ctx.read(y), layerNormRef(x, g, b, rows, dim, 1e-6), dim === 1 ? 1e-2 : 2e-5, 2e-5, 'layer-norm');
      for (const t of [xt, gt, bt, y]) t.release();
    });
  }
});
