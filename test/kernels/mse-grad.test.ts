import { describe, expect, it } from 'vitest';
import { mseGrad } from '../../src/ops/mse-grad.js';
import { mseLoss } from '../../src/ops/mse-loss.js';
import { uniforms } from '../../src/util/prng.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { mseGradRef } from '../reference/mse-grad.js';
import { mseLossRef } from '../reference/mse-loss.js';

describe('mse-grad', () => {
  for (const [rows, D] of [[1, 1], [7, 5], [32, 5], [7, 130], [32, 130], [1, 3200]]) {
    it(`${rows} rows of ${D}, norm read from norm[2] = 0.37`, async () => {
      const ctx = await testContext();
      const yhat = randomData(rows * D, 2);
      const y = randomData(rows * D, 1.5);
      const norm = Float32Array.from([5, -3, 0.37, 11]);
      const t = { yhat: ctx.upload(yhat, [rows, D], 'yhat'), y: ctx.upload(y, [rows, D], 'y'), norm: ctx.upload(norm, [4], 'norm') };
      const grad = mseGrad(ctx, t.yhat, t.y, rows, t.norm, 2, 'grad');
      expect(grad.shape).toEqual([rows, D]);
      expectClose(await ctx.read(grad), mseGradRef(yhat, y, rows, norm[2]), 1e-6, 1e-6, 'mse grad');
      for (const v of [t.yhat, t.y, t.norm, grad]) v.release();
    });
  }

  it('self-normalised by the loss that mse-loss left on the GPU, with no readback between', async () => {
    const ctx = await testContext();
    const [rows, D] = [7, 130];
    const y = randomData(rows * D, 1);
    const yhat0 = randomData(rows * D, 1);
    const yhat1 = Float32Array.from(yhat0, (v, i) => 0.5 * (v + y[i]));
    const t = { y: ctx.upload(y, [rows, D], 'y'), yhat0: ctx.upload(yhat0, [rows, D], 'yhat0'), yhat1: ctx.upload(yhat1, [rows, D], 'yhat1') };
    const scalars = ctx.upload(Float32Array.from([1, 1, 1]), [3], 'scalars');
    const readbacks = ctx.stats.readbacks;
    // Iteration 0 stores L0 in scalars[1]; a later iteration's gradient divides by it.
    mseLoss(ctx, t.yhat0, t.y, rows, scalars, 1);
    const grad = mseGrad(ctx, t.yhat1, t.y, rows, scalars, 1, 'grad');
    expect(ctx.stats.readbacks).toBe(readbacks);
    const L0 = mseLossRef(yhat0, y, rows);
    expectClose(await ctx.read(grad), mseGradRef(yhat1, y, rows, L0), 1e-6, 1e-5, 'normalised mse grad');
    for (const v of [t.y, t.yhat0, t.yhat1, scalars, grad]) v.release();
  });
});

describe('weighted mse (BRECQ-FIM: each error weighted by its sample gradient)', () => {
  for (const [rows, D] of [[1, 1], [7, 130], [32, 500]]) {
    it(`${rows} rows of ${D}: loss and gradient`, async () => {
      const ctx = await testContext();
      const [yhat, y, w] = [randomData(rows * D, 2), randomData(rows * D, 2), randomData(rows * D, 3)];
      const t = { yhat: ctx.upload(yhat, [rows, D], 'yhat'), y: ctx.upload(y, [rows, D], 'y'), w: ctx.upload(w, [rows, D], 'w') };
      const out = ctx.empty([2], 'out');
      mseLoss(ctx, t.yhat, t.y, rows, out, 1, t.w);
      const grad = mseGrad(ctx, t.yhat, t.y, rows, out, 1, 'grad', t.w);
      const loss = mseLossRef(yhat, y, rows, w);
      const got = await ctx.read(out);
      expectClose([got[1]], [loss], 1e-6, 1e-5, 'weighted loss');
      expectClose(await ctx.read(grad), mseGradRef(yhat, y, rows, got[1], w), 1e-6, 1e-5, 'weighted grad');
      for (const v of [t.yhat, t.y, t.w, out, grad]) v.release();
    });
  }

  it('the weighted reference gradient is the derivative of the weighted loss', () => {
    const [rows, D, norm] = [3, 7, 0.8];
    const yhat = Float64Array.from(randomData(rows * D, 2));
    const [y, w] = [randomData(rows * D, 1.5), randomData(rows * D, 2)];
    const g = mseGradRef(yhat, y, rows, norm, w);
    const h = 1e-4;
    const fd = Array.from(yhat, (_, i) => {
      const at = (s: number) => mseLossRef(Float64Array.from(yhat, (v, j) => (j === i ? v + s * h : v)), y, rows, w) / norm;
      return (at(1) - at(-1)) / (2 * h);
    });
    expectClose(g, fd, 1e-9, 1e-8, 'weighted mse grad reference');
  });
});

describe('mse-grad float64 reference vs central differences of mseLossRef / norm', () => {
  for (const [rows, D, norm] of [[1, 1, 1], [7, 5, 0.37], [3, 130, 2.5]]) {
    it(`${rows} rows of ${D}, norm ${norm}`, () => {
      const yhat = Float64Array.from(randomData(rows * D, 2));
      const y = randomData(rows * D, 1.5);
      const g = mseGradRef(yhat, y, rows, norm);
      // The loss is quadratic, so the central quotient is exact up to roundoff (~1e-16 L / h).
      const h = 1e-4;
      const picks = Array.from(new Set(Array.from(uniforms(44, rows * D, 40), (u) => Math.floor(u * rows * D))));
      const fd = picks.map((i) => {
        const at = (s: number) => {
          const x = Float64Array.from(yhat);
          x[i] += s * h;
          return mseLossRef(x, y, rows) / norm;
        };
        return (at(1) - at(-1)) / (2 * h);
      });
      expectClose(picks.map((i) => g[i]), fd, 1e-9, 1e-8, 'mse grad reference');
    });
  }
});
