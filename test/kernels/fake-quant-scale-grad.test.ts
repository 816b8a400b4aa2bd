import { describe, expect, it } from 'vitest';
import { viewCount, type QuantView } from '../../src/ops/fake-quant.js';
import { fakeQuantScaleGrad } from '../../src/ops/fake-quant-scale-grad.js';
import type { GpuContext } from '../../src/runtime/context.js';
import { randomData, testContext } from '../helpers/gpu.js';
import { roundHalfEven } from '../reference/fake-quant.js';
import { steElement } from '../reference/fake-quant-backward.js';
import { forEachViewedIndexed, steSurrogate, TRAIN_VIEW_CASES, trainData, type TrainData, type TrainViewCase } from '../reference/fake-quant-train.js';
import { fakeQuantScaleGradRef } from '../reference/fake-quant-scale-grad.js';

async function runGrad(ctx: GpuContext, c: TrainViewCase, d: TrainData, keepProb: number, bits: number, partElements?: number): Promise<Float32Array> {
  const t = [d.x, d.scale, d.zp, d.noise, d.dy].map((v, i) => ctx.upload(v, [v.length], `in${i}`));
  const grad = fakeQuantScaleGrad(ctx, t[0], t[1], t[2], t[3], keepProb, bits, c.view, t[4], 'ds', partElements);
  const got = await ctx.read(grad);
  for (const v of [...t, grad]) v.release();
  return got;
}

describe('fake-quant-scale-grad (ds)', () => {
  for (const c of TRAIN_VIEW_CASES) {
    for (const bits of [4, 8]) {
      it(`${c.name}, ${bits} bits: the float64 reference ds matches central differences of the STE surrogate`, () => {
        const qmax = 2 ** bits - 1;
        for (const keepProb of [0.5, 1]) {
          const d = trainData(c, bits);
          // The clamp's kinks at t = 0 and t = qmax have no derivative: those elements get dy = 0 here.
          const dy = Float32Array.from(d.dy);
          const fd = new Float64Array(c.scales);
          forEachViewedIndexed(c.view, (at, si, zi, idx) => {
            const [x, s, z, kept] = [d.x[at], d.scale[si], d.zp[zi], d.noise[idx] < keepProb];
            const e = steElement(x, s, z, kept, bits);
            if (e.branch === 'inside' && (e.t === 0 || e.t === qmax)) {
              dy[at] = 0;
              return;
            }
            // F(s) = Σ dy · surrogate(s) is a sum, so its central difference is the sum of the elements' ones.
            const cst = roundHalfEven(x / s) - x / s;
            const h = 1e-5 * s;
            fd[si] += (dy[at] * (steSurrogate(x, s + h, z, cst, kept, bits) - steSurrogate(x, s - h, z, cst, kept, bits))) / (2 * h);
          });
          const ref = fakeQuantScaleGradRef(d.x, d.scale, d.zp, d.noise, keepProb, bits, c.view, dy);
          for (let j = 0; j < c.scales; j++) {
            expect(Math.abs(fd[j] - ref.grad[j]), `scale ${j}`).toBeLessThan(1e-7 * (1 + ref.magnitude[j]));
          }
          if (viewCount(c.view) >= 50) expect(ref.magnitude.some((m) => m > 0)).toBe(true);
        }
      });

      // partElements 1: every element its own part.
      for (const [keepProb, partElements] of [[0.5, undefined], [1, undefined], [0.75, 1]] as const) {
        it(`${c.name}, ${bits} bits, keep ${keepProb}${partElements ? ', smallest parts' : ''}: GPU ds matches the reference`, async () => {
          const ctx = await testContext();
          const d = trainData(c, bits);
          const got = await runGrad(ctx, c, d, keepProb, bits, partElements);
          const ref = fakeQuantScaleGradRef(d.x, d.scale, d.zp, d.noise, keepProb, bits, c.view, d.dy);
          // The GPU forms u = x / s in float32 (WGSL allows 2.5 ulp), which moves an inside term
          // dy · (round(u) - u) by up to |dy · u| · 2^-21; the rest is float32 summation, relative to Σ|terms|.
          const counts = { inside: 0, clamped: 0 };
          const quotientError = new Float64Array(c.scales);
          forEachViewedIndexed(c.view, (at, si, zi, idx) => {
            const e = steElement(d.x[at], d.scale[si], d.zp[zi], d.noise[idx] < keepProb, bits);
            if (e.branch === 'float') return;
            counts[e.branch]++;
            if (e.branch === 'inside') quotientError[si] += Math.abs(d.dy[at] * e.u) * 2 ** -21;
          });
          for (let j = 0; j < c.scales; j++) {
            const err = Math.abs(got[j] - ref.grad[j]);
            expect(err, `scale ${j}: got ${got[j]}, expected ${ref.grad[j]}`).toBeLessThanOrEqual(1e-5 * ref.magnitude[j] + quotientError[j]);
          }
          if (viewCount(c.view) >= 50) {
            expect(counts.inside).toBeGreaterThan(0);
            expect(counts.clamped).toBeGreaterThan(0);
            expect(ref.magnitude.every((m) => m > 0)).toBe(true);
          }
          // Deterministic: the same inputs give the same bits.
          expect(Array.from(await runGrad(ctx, c, d, keepProb, bits, partElements))).toEqual(Array.from(got));
        });
      }
    }
  }

  it('throws when the scale map is not a bijection onto the scale entries', async () => {
    const ctx = await testContext();
    const x = ctx.upload(randomData(60), [60], 'x');
    const t = (n: number) => ctx.upload(randomData(n), [n], 'v');
    const [s3, s4, s5, z, noise] = [t(3), t(4), t(5), t(1), t(60)];
    const base: QuantView = { sizes: [3, 4, 5, 1], offset: 0, address: [20, 5, 1, 0], scale: [0, 1, 0, 0], zeroPoint: [0, 0, 0, 0] };
    const ok = fakeQuantScaleGrad(ctx, x, s4, z, noise, 1, 4, base, x, 'ds');
    expect(ok.shape).toEqual([4]);
    expect(() => fakeQuantScaleGrad(ctx, x, s5, z, noise, 1, 4, base, x, 'ds')).toThrow(/not a bijection onto the 5 scale entries/);
    expect(() => fakeQuantScaleGrad(ctx, x, s4, z, noise, 1, 4, { ...base, scale: [0, 1, 1, 0] }, x, 'ds')).toThrow(/not a bijection/);
    expect(() => fakeQuantScaleGrad(ctx, x, s3, z, noise, 1, 4, { ...base, scale: [2, 1, 0, 0] }, x, 'ds')).toThrow(/not a bijection/);
    expect(() => fakeQuantScaleGrad(ctx, x, s4, z, noise, 1, 4, { ...base, sizes: [3, 4, 0, 1] }, x, 'ds')).toThrow(/positive integers/);
    await ctx.sync();
    for (const v of [x, s3, s4, s5, z, noise, ok]) v.release();
  });
});
