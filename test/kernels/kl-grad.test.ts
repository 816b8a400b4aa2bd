import { describe, expect, it } from 'vitest';
import { klGrad } from '../../src/ops/kl-grad.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { klGradRef } from '../reference/kl-grad.js';
import { klLossRef } from '../reference/kl-loss.js';

describe('kl-grad (batchmean)', () => {
  // [rows B, classes C, logit offset]: the offset makes exp overflow without the max subtraction.
  for (const [rows, C, offset] of [[1, 1, 0], [7, 1, 0], [1, 10, 0], [7, 10, 0], [32, 10, 0], [1, 1000, 0], [7, 1000, 0], [32, 97, 0], [3, 130, 100]]) {
    it(`${rows} rows of ${C} classes${offset ? `, logits offset by ${offset}` : ''}`, async () => {
      const ctx = await testContext();
      const yhat = Float32Array.from(randomData(rows * C, 4), (v) => v + offset);
      const target = Float32Array.from(randomData(rows * C, 5), (v) => v - offset);
      const [yhatT, targetT] = [ctx.upload(yhat, [rows, C], 'yhat'), ctx.upload(target, [rows, C], 'target')];
      const grad = klGrad(ctx, yhatT, targetT, rows, 'grad');
      expect(grad.shape).toEqual([rows, C]);
      const ref = klGradRef(yhat, target, rows, C);
      // Entries are differences of probabilities divided by rows: the absolute floor scales with 1/rows.
      expectClose(await ctx.read(grad), ref, 1e-7 / rows, 1e-5, 'kl grad');
      for (const t of [yhatT, targetT, grad]) t.release();
    });
  }
});

describe('kl-grad with a temperature (the Fisher snapshots use T = 20)', () => {
  for (const [rows, C, t] of [[4, 10, 20], [32, 1000, 20], [3, 7, 0.5]]) {
    it(`${rows} rows of ${C} classes, T = ${t}`, async () => {
      const ctx = await testContext();
      const yhat = randomData(rows * C, 30);
      const target = randomData(rows * C, 30);
      const [yhatT, targetT] = [ctx.upload(yhat, [rows, C], 'yhat'), ctx.upload(target, [rows, C], 'target')];
      const grad = klGrad(ctx, yhatT, targetT, rows, 'grad', t);
      expectClose(await ctx.read(grad), klGradRef(yhat, target, rows, C, t), 1e-7 / (rows * t), 1e-5, 'kl grad');
      for (const x of [yhatT, targetT, grad]) x.release();
    });
  }
});

describe('kl-grad float64 reference vs central differences of klLossRef', () => {
  for (const [rows, C, t] of [[1, 1, 1], [3, 10, 1], [2, 37, 1], [3, 10, 20]]) {
    it(`${rows} rows of ${C} classes, T = ${t}, every logit`, () => {
      const yhat = Float64Array.from(randomData(rows * C, 4));
      const target = randomData(rows * C, 5);
      const g = klGradRef(yhat, target, rows, C, t);
      // Truncation ~h^2 |L'''| and roundoff ~1e-16 L / h are both below 1e-9 at h = 1e-5.
      const h = 1e-5;
      const fd = Float64Array.from(yhat, (_, i) => {
        const at = (s: number) => {
          const x = Float64Array.from(yhat);
          x[i] += s * h;
          return klLossRef(x, target, rows, C, t);
        };
        return (at(1) - at(-1)) / (2 * h);
      });
      expectClose(g, fd, 1e-9, 1e-6, 'kl grad reference');
    });
  }
});
