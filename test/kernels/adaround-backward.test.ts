/**
 * adaround-backward against the float64 reference gradient, and that reference against central
 * finite differences of the float64 loss Σ dWhat * w_hat + lambda Σ (1 - |2h - 1|^beta).
 */
import { describe, expect, it } from 'vitest';
import { adaroundBackward } from '../../src/ops/adaround-backward.js';
import { uniforms } from '../../src/util/prng.js';
import { expectClose, testContext } from '../helpers/gpu.js';
import { adaroundBackwardRef, adaroundLossRef, rectifiedSigmoidGrad } from '../reference/adaround-backward.js';
import { rectifiedSigmoid } from '../reference/adaround-weight.js';

const SATURATE = Math.log(11); // h(alpha) = 0 below -SATURATE and 1 above +SATURATE
let stream = 800;
const draw = (n: number, lo: number, hi: number) => Float64Array.from(uniforms(43, stream++, n), (u) => lo + (hi - lo) * u);

/**
 * base, alpha, scale, zero points and dWhat for a [rows, cols] weight; element i % 5 = 0 / 1 clamps
 * low / high whatever h is, i % 7 = 2 / 3 saturates h at 0 / 1. No alpha lies within `gap` of a
 * saturation point, the only kinks of the loss in alpha.
 */
function makeCase(rows: number, cols: number, bits: number, gap: number) {
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
  const alpha = Float32Array.from(draw(n, -4, 4), (a, i) => {
    const v = i % 7 === 2 ? -3 - Math.abs(a) / 4 : i % 7 === 3 ? 3 + Math.abs(a) / 4 : a;
    return Math.abs(Math.abs(v) - SATURATE) < gap ? v + 2 * gap : v;
  });
  const dWhat = Float32Array.from(draw(n, -1, 1));
  return { base, alpha, scale, zp, dWhat };
}

const SHAPES = [1, 3, 17].flatMap((rows) => [1, 5, 64, 130].map((cols) => [rows, cols] as const));
// [lambda, beta]: the regulariser off (warm-up), the start and end of the beta anneal, a fractional beta.
const REG = [[0, 20], [0.01, 20], [1, 2], [0.1, 3.7]] as const;

describe('adaround-backward', () => {
  for (const bits of [2, 3, 4, 8]) {
    it(`${bits} bits, every shape: matches the float64 gradient`, async () => {
      const ctx = await testContext();
      const qmax = 2 ** bits - 1;
      let cut = 0;
      for (let k = 0; k < SHAPES.length; k++) {
        const [rows, cols] = SHAPES[k];
        const [lambda, beta] = REG[k % REG.length];
        const c = makeCase(rows, cols, bits, 1e-3);
        const t = [ctx.upload(c.base, [rows, cols], 'base'), ctx.upload(c.alpha, [rows, cols], 'alpha'), ctx.upload(c.scale, [rows], 's'), ctx.upload(c.zp, [rows], 'z')] as const;
        const dw = ctx.upload(c.dWhat, [rows, cols], 'dWhat');
        const da = adaroundBackward(ctx, ...t, bits, dw, lambda, beta, 'dAlpha');
        const ref = adaroundBackwardRef(c.base, c.alpha, c.scale, c.zp, cols, bits, c.dWhat, lambda, beta);
        const what = `${rows}x${cols} lambda=${lambda} beta=${beta}`;
        expectClose(await ctx.read(da), ref, 1e-9 + 1e-6 * Math.max(...ref.map(Math.abs)), 1e-5, what);

        for (let i = 0; i < rows * cols; i++) {
          const v = c.base[i] + rectifiedSigmoid(c.alpha[i]) + c.zp[Math.floor(i / cols)];
          if ((v < 0 || v > qmax) && rectifiedSigmoidGrad(c.alpha[i]) !== 0) cut++;
        }
        for (const x of [...t, dw, da]) x.release();
      }
      // Some gradients pass through h but are cut by the q clamp.
      expect(cut).toBeGreaterThan(0);
    });
  }

  it('lambda = 0 ignores beta, and h = 1/2 gives no regulariser gradient (no pow(0, y))', async () => {
    const ctx = await testContext();
    const [rows, cols, bits] = [2, 3, 4];
    const base = Float32Array.from([0, 1, 2, 3, 4, 5]);
    // alpha = 0 gives h = 1/2, exactly so in float32: 2h - 1 = 0 on the GPU, where pow(0, beta - 1) must not be evaluated.
    const alpha = Float32Array.from([0, 0, 0.5, -0.5, 0, 1]);
    const scale = Float32Array.from([0.1, 0.05]);
    const zp = Float32Array.from([3, 7]);
    const dWhat = Float32Array.from([0.5, -1, 0.25, 2, -0.75, 1]);
    const t = [ctx.upload(base, [rows, cols], 'base'), ctx.upload(alpha, [rows, cols], 'alpha'), ctx.upload(scale, [rows], 's'), ctx.upload(zp, [rows], 'z')] as const;
    const dw = ctx.upload(dWhat, [rows, cols], 'dWhat');
    for (const [lambda, beta] of [[0, 0.5], [2, 2], [2, 1.5]]) {
      const da = adaroundBackward(ctx, ...t, bits, dw, lambda, beta, 'dAlpha');
      const ref = adaroundBackwardRef(base, alpha, scale, zp, cols, bits, dWhat, lambda, beta);
      expectClose(await ctx.read(da), ref, 1e-7, 1e-5, `lambda=${lambda} beta=${beta}`);
      da.release();
    }
    for (const x of [...t, dw]) x.release();
  });
});

describe('adaround-backward float64 reference', () => {
  for (const [rows, cols, bits, lambda, beta] of [[3, 5, 2, 0.1, 20], [17, 5, 4, 1, 2], [3, 5, 8, 0.3, 3.7], [17, 5, 3, 0, 20]]) {
    it(`${rows}x${cols}, ${bits} bits, lambda=${lambda} beta=${beta}: equals central differences of the float64 loss`, () => {
      const c = makeCase(rows, cols, bits, 1e-2);
      const alpha = Float64Array.from(c.alpha);
      const grad = adaroundBackwardRef(c.base, alpha, c.scale, c.zp, cols, bits, c.dWhat, lambda, beta);
      const step = 1e-6;
      const fd = alpha.map((a, i) => {
        const at = (x: number) => {
          const shifted = Float64Array.from(alpha);
          shifted[i] = x;
          return adaroundLossRef(c.base, shifted, c.scale, c.zp, cols, bits, c.dWhat, lambda, beta);
        };
        return (at(a + step) - at(a - step)) / (2 * step);
      });
      expectClose(grad, fd, 1e-7, 1e-5, 'reference gradient vs finite differences');
      expect(grad.filter((g) => g !== 0).length, 'non-zero gradients').toBeGreaterThan(rows * cols / 10);
    });
  }
});
