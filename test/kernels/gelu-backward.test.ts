import { describe, expect, it } from 'vitest';
import { geluBackward } from '../../src/ops/gelu-backward.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { geluRef } from '../reference/gelu.js';
import { geluBackwardRef } from '../reference/gelu-backward.js';

describe('gelu-backward (exact erf form)', () => {
  for (const [count, scale] of [[1, 1], [255, 4], [5000, 6]]) {
    it(`count=${count} range=±${scale}`, async () => {
      const ctx = await testContext();
      const x = randomData(count, scale);
      const dy = randomData(count, 2);
      const [xt, dyt] = [ctx.upload(x, [count], 'x'), ctx.upload(dy, [count], 'dy')];
      const dx = geluBackward(ctx, xt, dyt, 'dx');
      // gelu' crosses zero near x = -0.75, so near-zero values need an absolute floor.
      expectClose(await ctx.read(dx), geluBackwardRef(x, dy), 3e-7, 2e-6, 'gelu-backward');
      for (const t of [xt, dyt, dx]) t.release();
    });
  }
});

describe('gelu-backward float64 reference vs finite differences of geluRef', () => {
  it('every element of x in ±6', () => {
    // Element-wise op: shifting every coordinate at once gives each coordinate's own difference quotient.
    // erf's Maclaurin series in geluRef cancels near |x| = 4 (roundoff ~1e-14), which a 2-point quotient
    // with h = 1e-6 would amplify to ~1e-8; the 5-point stencil at h = 1e-3 has truncation error ~h^4.
    const x = randomData(2000, 6);
    const dy = randomData(2000, 2);
    const h = 1e-3;
    const at = (k: number) => geluRef(Float64Array.from(x, (v) => v + k * h));
    const [m2, m1, p1, p2] = [at(-2), at(-1), at(1), at(2)];
    const fd = Float64Array.from(x, (_, i) => (dy[i] * (m2[i] - 8 * m1[i] + 8 * p1[i] - p2[i])) / (12 * h));
    const worst = expectClose(geluBackwardRef(x, dy), fd, 1e-10, 1e-8, 'gelu-backward reference');
    expect(worst).toBeLessThan(1e-9);
  });
});
