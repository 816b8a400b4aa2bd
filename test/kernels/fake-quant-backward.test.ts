import { describe, expect, it } from 'vitest';
import { viewCount } from '../../src/ops/fake-quant.js';
import { fakeQuantBackwardInto } from '../../src/ops/fake-quant-backward.js';
import { testContext } from '../helpers/gpu.js';
import { roundHalfEven } from '../reference/fake-quant.js';
import { fakeQuantBackwardRef, steElement, type SteBranch } from '../reference/fake-quant-backward.js';
import { forEachViewedIndexed, steSurrogate, TRAIN_VIEW_CASES, trainData } from '../reference/fake-quant-train.js';

describe('fake-quant-backward (dx)', () => {
  for (const c of TRAIN_VIEW_CASES) {
    for (const bits of [4, 8]) {
      it(`${c.name}, ${bits} bits: the float64 reference dx matches central differences of the STE surrogate`, () => {
        const qmax = 2 ** bits - 1;
        for (const keepProb of [0.5, 1]) {
          const d = trainData(c, bits);
          const ref = fakeQuantBackwardRef(d.x, d.scale, d.zp, d.noise, keepProb, bits, c.view, d.dy, d.init);
          const seen = new Set<SteBranch>();
          forEachViewedIndexed(c.view, (at, si, zi, idx) => {
            const [x, s, z, kept] = [d.x[at], d.scale[si], d.zp[zi], d.noise[idx] < keepProb];
            const e = steElement(x, s, z, kept, bits);
            // The clamp's kinks at t = 0 and t = qmax have no derivative to compare with.
            if (e.branch === 'inside' && (e.t === 0 || e.t === qmax)) return;
            seen.add(e.branch);
            const cst = roundHalfEven(x / s) - x / s;
            const h = 1e-4 * s;
            const fd = (d.dy[at] * (steSurrogate(x + h, s, z, cst, kept, bits) - steSurrogate(x - h, s, z, cst, kept, bits))) / (2 * h);
            expect(Math.abs(fd - ref[at]), `element ${at}`).toBeLessThan(1e-7);
          });
          if (viewCount(c.view) >= 50) expect([...seen].sort()).toEqual(keepProb < 1 ? ['clamped', 'float', 'inside'] : ['clamped', 'inside']);
        }
      });

      for (const keepProb of [0.5, 1]) {
        it(`${c.name}, ${bits} bits, keep ${keepProb}: GPU dx equals the reference exactly`, async () => {
          const qmax = 2 ** bits - 1;
          const ctx = await testContext();
          const d = trainData(c, bits);
          const t = [d.x, d.scale, d.zp, d.noise, d.dy].map((v, i) => ctx.upload(v, [v.length], `in${i}`));
          const dx = ctx.upload(d.init, [d.init.length], 'dx');
          fakeQuantBackwardInto(ctx, t[0], t[1], t[2], t[3], keepProb, bits, c.view, t[4], dx);
          const got = await ctx.read(dx);
          expect(Array.from(got)).toEqual(Array.from(fakeQuantBackwardRef(d.x, d.scale, d.zp, d.noise, keepProb, bits, c.view, d.dy, d.init)));
          const count = { float: 0, inside: 0, clamped: 0, boundary: 0 };
          forEachViewedIndexed(c.view, (at, si, zi, idx) => {
            const e = steElement(d.x[at], d.scale[si], d.zp[zi], d.noise[idx] < keepProb, bits);
            count[e.branch]++;
            if (e.branch === 'inside' && (e.t === 0 || e.t === qmax)) count.boundary++;
          });
          if (viewCount(c.view) >= 50) {
            expect(count.clamped).toBeGreaterThan(0);
            expect(count.boundary).toBeGreaterThan(0);
            expect(count.inside).toBeGreaterThan(count.boundary);
            expect(count.float > 0).toBe(keepProb < 1);
          }
          for (const v of [...t, dx]) v.release();
        });
      }
    }
  }
});
