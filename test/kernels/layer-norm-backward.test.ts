import { describe, expect, it } from 'vitest';
import { layerNormBackward } from '../../src/ops/layer-norm-backward.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { layerNormRef } from '../reference/layer-norm.js';
import { layerNormBackwardRef } from '../reference/layer-norm-backward.js';

const EPS = 1e-6;

function inputs(rows: number, dim: number) {
  // An offset mean tests the two-pass variance, as in the forward test.
  const x = randomData(rows * dim, 3).map((v) => v + 5);
  const gamma = randomData(dim).map((v) => 1 + 0.5 * v);
  const dy = randomData(rows * dim);
  return { x, gamma, dy };
}

describe('layer-norm-backward', () => {
  for (const [rows, dim] of [[1, 1], [1, 130], [7, 5], [7, 64], [50, 1], [50, 5], [50, 64], [7, 130]]) {
    it(`rows=${rows} dim=${dim}`, async () => {
      const ctx = await testContext();
      const { x, gamma, dy } = inputs(rows, dim);
      const [xt, gt, dyt] = [ctx.upload(x, [rows, dim], 'x'), ctx.upload(gamma, [dim], 'gamma'), ctx.upload(dy, [rows, dim], 'dy')];
      const dx = layerNormBackward(ctx, xt, gt, dyt, EPS, 'dx');
      const ref = layerNormBackwardRef(x, gamma, dy, rows, dim, EPS);
      expectClose(await ctx.read(dx), ref, 2e-6, 1e-5, 'layer-norm-backward');
      if (dim > 1) expect(Math.max(...ref.map(Math.abs))).toBeGreaterThan(0.1);
      for (const t of [xt, gt, dyt, dx]) t.release();
    });
  }
});

describe('layer-norm-backward float64 reference vs finite differences of layerNormRef', () => {
  for (const [rows, dim] of [[1, 1], [7, 5], [3, 64], [2, 130]]) {
    it(`rows=${rows} dim=${dim}`, () => {
      const { x, gamma, dy } = inputs(rows, dim);
      const beta = randomData(dim, 0.3);
      const dx = layerNormBackwardRef(x, gamma, dy, rows, dim, EPS);
      const loss = (v: ArrayLike<number>) => layerNormRef(v, gamma, beta, rows, dim, EPS).reduce((s, y, i) => s + dy[i] * y, 0);
      const h = 1e-6;
      for (let k = 0; k < 3; k++) {
        const dir = randomData(rows * dim);
        const fd = (loss(Float64Array.from(x, (v, i) => v + h * dir[i])) - loss(Float64Array.from(x, (v, i) => v - h * dir[i]))) / (2 * h);
        let an = 0;
        let mag = 0;
        for (let i = 0; i < dx.length; i++) {
          an += dx[i] * dir[i];
          mag += Math.abs(dx[i] * dir[i]);
        }
        expect(Math.abs(fd - an), `direction ${k}: fd ${fd} vs analytic ${an}`).toBeLessThanOrEqual(1e-7 * mag + 1e-12);
      }
    });
  }
});
