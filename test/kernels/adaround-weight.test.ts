/**
 * adaround-weight against the float64 reference. Weights sit per row around [-z - 3, qmax - z + 3] in
 * units of s, so elements clamp at 0 and at qmax; alphas cover both saturated ends of h.
 */
import { describe, expect, it } from 'vitest';
import { adaroundWeight } from '../../src/ops/adaround-weight.js';
import { uniforms } from '../../src/util/prng.js';
import { expectClose, testContext } from '../helpers/gpu.js';
import { adaroundWeightRef, rectifiedSigmoid } from '../reference/adaround-weight.js';

const SATURATE = Math.log(11); // h(alpha) = 0 below -SATURATE and 1 above +SATURATE
let stream = 700;
const draw = (n: number, lo: number, hi: number) => Float64Array.from(uniforms(41, stream++, n), (u) => lo + (hi - lo) * u);

/** base, alpha, scale, zero points for a [rows, cols] weight; element i % 5 = 0 / 1 clamps low / high whatever h is. */
function makeCase(rows: number, cols: number, bits: number) {
  const qmax = 2 ** bits - 1;
  const n = rows * cols;
  const scale = Float32Array.from(draw(rows, 0.01, 0.2));
  const zp = Float32Array.from(draw(rows, 0, qmax + 0.999), Math.floor);
  const u = draw(n, 0, 1);
  const base = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const z = zp[Math.floor(i / cols)];
    const [lo, hi] = i % 5 === 0 ? [-z - 3, -z - 1] : i % 5 === 1 ? [qmax - z + 1, qmax - z + 3] : [-z - 1.5, qmax - z + 1.5];
    base[i] = Math.floor(lo + (hi - lo) * u[i]);
  }
  // Elements i % 7 = 2 / 3 saturate h at 0 / 1; nothing sits within 1e-3 of a saturation point,
  // where float32 and float64 could disagree on the side.
  const alpha = Float32Array.from(draw(n, -4, 4), (a, i) => {
    const v = i % 7 === 2 ? -3 - Math.abs(a) / 4 : i % 7 === 3 ? 3 + Math.abs(a) / 4 : a;
    return Math.abs(Math.abs(v) - SATURATE) < 1e-3 ? v + 2e-3 : v;
  });
  return { base, alpha, scale, zp };
}

const SHAPES = [1, 3, 17].flatMap((rows) => [1, 5, 64, 130].map((cols) => [rows, cols] as const));

describe('adaround-weight', () => {
  for (const bits of [2, 3, 4, 8]) {
    it(`${bits} bits, every shape: hard exact, soft within 1e-6`, async () => {
      const ctx = await testContext();
      const qmax = 2 ** bits - 1;
      for (const [rows, cols] of SHAPES) {
        const c = makeCase(rows, cols, bits);
        const n = rows * cols;
        const t = [ctx.upload(c.base, [rows, cols], 'base'), ctx.upload(c.alpha, [rows, cols], 'alpha'), ctx.upload(c.scale, [rows], 's'), ctx.upload(c.zp, [rows], 'z')] as const;
        const hard = adaroundWeight(ctx, ...t, bits, true, 'hard');
        const soft = adaroundWeight(ctx, ...t, bits, false, 'soft');
        const what = `${rows}x${cols}`;

        const hardRef = adaroundWeightRef(c.base, c.alpha, c.scale, c.zp, cols, bits, true);
        // + 0 turns -0 (clamped at -z = -0) into 0: equal values, but toEqual tells them apart.
        expect(Array.from(await ctx.read(hard), (x) => x + 0), `hard ${what}`).toEqual(Array.from(hardRef, (x) => Math.fround(x) + 0));
        const softRef = adaroundWeightRef(c.base, c.alpha, c.scale, c.zp, cols, bits, false);
        expectClose(await ctx.read(soft), softRef, 1e-6 * Math.max(...c.scale), 1e-6, `soft ${what}`);

        // The data reaches both clamp ends of q and both saturated ends of h.
        let low = 0, high = 0, h0 = 0, h1 = 0;
        for (let i = 0; i < n; i++) {
          const v = c.base[i] + rectifiedSigmoid(c.alpha[i]) + c.zp[Math.floor(i / cols)];
          if (v < 0) low++;
          if (v > qmax) high++;
          if (c.alpha[i] < -SATURATE) h0++;
          if (c.alpha[i] > SATURATE) h1++;
        }
        if (n >= 2) expect([low > 0, high > 0], `q clamps in ${what}`).toEqual([true, true]);
        if (n >= 4) expect([h0 > 0, h1 > 0], `h saturates in ${what}`).toEqual([true, true]);
        for (const x of [...t, hard, soft]) x.release();
      }
    });
  }
});
