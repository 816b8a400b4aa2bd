/**
 * adaround-init: base is floor(w / s) and h(alpha) = frac(w / s), checked in float64; the soft weight
 * built from them gives back w wherever it is not clamped.
 */
import { describe, expect, it } from 'vitest';
import { adaroundInit } from '../../src/ops/adaround-init.js';
import { adaroundWeight } from '../../src/ops/adaround-weight.js';
import { uniforms } from '../../src/util/prng.js';
import { expectClose, testContext } from '../helpers/gpu.js';
import { adaroundInitRef } from '../reference/adaround-init.js';
import { rectifiedSigmoid } from '../reference/adaround-weight.js';

let stream = 900;
const draw = (n: number, lo: number, hi: number) => Float64Array.from(uniforms(47, stream++, n), (u) => lo + (hi - lo) * u);

const SHAPES = [1, 3, 17].flatMap((rows) => [1, 5, 64, 130].map((cols) => [rows, cols] as const));

describe('adaround-init', () => {
  for (const bits of [2, 3, 4, 8]) {
    it(`${bits} bits, every shape: base exact, h(alpha) = frac, soft weight = w inside the range`, async () => {
      const ctx = await testContext();
      const qmax = 2 ** bits - 1;
      let nearInteger = 0;
      let total = 0;
      for (const [rows, cols] of SHAPES) {
        const n = rows * cols;
        const scale = Float32Array.from(draw(rows, 0.01, 0.2));
        const zp = Float32Array.from(draw(rows, 0, qmax + 0.999), Math.floor);
        // w / s spans [-z - 3, qmax - z + 3]; the first elements are 0 (frac 0) and a tiny negative
        // number, whose float32 frac rounds to 1.
        const u = draw(n, 0, 1);
        const w = Float32Array.from(u, (x, i) => (-zp[Math.floor(i / cols)] - 3 + (qmax + 6) * x) * scale[Math.floor(i / cols)]);
        w[0] = 0;
        if (n > 1) w[1] = -1e-9;
        const wt = ctx.upload(w, [rows, cols], 'w');
        const st = ctx.upload(scale, [rows], 's');
        const zt = ctx.upload(zp, [rows], 'z');
        const { base, alpha } = adaroundInit(ctx, wt, st, 'init');
        const wHat = adaroundWeight(ctx, base, alpha, st, zt, bits, false, 'w_hat');
        const [b, a, wh] = [await ctx.read(base), await ctx.read(alpha), await ctx.read(wHat)];
        const ref = adaroundInitRef(w, scale, cols);

        for (let i = 0; i < n; i++) {
          const ratio = w[i] / scale[Math.floor(i / cols)];
          const what = `${rows}x${cols} [${i}] w/s=${ratio}`;
          // The GPU's division is within a few ulp; only where w / s is that close to an integer
          // may its floor be the integer below.
          if (b[i] !== ref.base[i]) {
            expect(Math.abs(ratio - Math.round(ratio)), what).toBeLessThan(4e-7 * Math.max(1, Math.abs(ratio)));
            expect([Math.round(ratio) - 1, Math.round(ratio)], what).toContain(b[i]);
            nearInteger++;
          }
          expect(Number.isFinite(a[i]), what).toBe(true);
          const frac = ratio - b[i];
          expect(Math.abs(rectifiedSigmoid(a[i]) - frac), what).toBeLessThanOrEqual(1e-6 + 4e-7 * Math.abs(ratio));
        }
        total += n;

        // base + h = w / s, so w_hat = w wherever base + h + z stays inside [0, qmax].
        const inside = Array.from({ length: n }, (_, i) => i).filter((i) => {
          const k = ref.base[i] + zp[Math.floor(i / cols)];
          return k >= 0 && k < qmax;
        });
        expect(inside.length, `${rows}x${cols} elements inside the range`).toBeGreaterThanOrEqual(Math.floor((n * qmax) / (qmax + 6) / 2));
        expectClose(inside.map((i) => wh[i]), inside.map((i) => w[i]), 2e-6 * Math.max(...scale), 1e-6, `soft weight ${rows}x${cols}`);
        for (const x of [wt, st, zt, base, alpha, wHat]) x.release();
      }
      expect(nearInteger).toBeLessThanOrEqual(total / 100);
    });
  }
});
