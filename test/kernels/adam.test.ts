/** adam: five GPU steps with fresh seeded gradients against a float64 loop of torch.optim.Adam's formula. */
import { describe, expect, it } from 'vitest';
import { adamStep } from '../../src/ops/adam.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { adamRefInit, adamRefStep } from '../reference/adam.js';

const CASES = [
  { count: 1, lr: 0.01, betas: undefined },
  { count: 7, lr: 0.05, betas: undefined },
  { count: 257, lr: 0.01, betas: undefined },
  { count: 1000, lr: 0.003, betas: { beta1: 0.8, beta2: 0.99, eps: 1e-6 } },
];

describe('adam', () => {
  for (const { count, lr, betas } of CASES) {
    it(`${count} elements, lr ${lr}, ${betas ? JSON.stringify(betas) : 'default betas'}: 5 steps`, async () => {
      const ctx = await testContext();
      const param0 = randomData(count, 1);
      const param = ctx.upload(param0, [count], 'param');
      const grad = ctx.empty([count], 'grad');
      const m = ctx.empty([count], 'm');
      const v = ctx.empty([count], 'v');
      ctx.clear(m);
      ctx.clear(v);
      const ref = adamRefInit(param0);
      for (let step = 1; step <= 5; step++) {
        // Gradient scales change per step; every third element gets gradients near 1e-8, where eps
        // is as large as sqrt(v) and its placement matters.
        const g = randomData(count, [1, 0.3, 2, 0.05, 1][step - 1]).map((x, i) => (i % 3 === 2 ? x * 1e-8 : x));
        ctx.write(grad, g);
        adamStep(ctx, param, grad, m, v, { lr, step, ...betas });
        adamRefStep(ref, g, lr, betas?.beta1, betas?.beta2, betas?.eps);
      }
      const got = await ctx.read(param);
      // m may cancel to far below its terms: absolute tolerances follow each group's gradient size.
      const [gm, gv] = [await ctx.read(m), await ctx.read(v)];
      for (const [tiny, unit] of [[false, 1], [true, 1e-8]] as const) {
        const pick = <T extends ArrayLike<number>>(x: T) => Array.from(x).filter((_, i) => (i % 3 === 2) === tiny);
        expectClose(pick(gm), pick(ref.m), 1e-6 * unit, 1e-5, `m${tiny ? ' (tiny gradients)' : ''}`);
        expectClose(pick(gv), pick(ref.v), 1e-12 * unit * unit, 1e-5, `v${tiny ? ' (tiny gradients)' : ''}`);
      }
      expectClose(got, ref.param, 5e-7, 1e-6, 'param');
      // The update itself, not only the parameter it lands on, is within 1e-5.
      expectClose(got.map((p, i) => p - param0[i]), ref.param.map((p, i) => p - param0[i]), 5e-7, 1e-5, 'update');
      expect(Math.max(...ref.param.map((p, i) => Math.abs(p - param0[i])))).toBeGreaterThan(lr);
      for (const t of [param, grad, m, v]) t.release();
    });
  }

  it('rejects a step below 1', async () => {
    const ctx = await testContext();
    const t = ctx.upload(new Float32Array([1]), [1], 't');
    expect(() => adamStep(ctx, t, t, t, t, { lr: 0.1, step: 0 })).toThrow(/step 0/);
    t.release();
  });
});
