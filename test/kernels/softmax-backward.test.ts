import { describe, expect, it } from 'vitest';
import { softmaxBackward } from '../../src/ops/softmax-backward.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { softmaxRef } from '../reference/softmax.js';
import { softmaxBackwardRef } from '../reference/softmax-backward.js';

describe('softmax-backward', () => {
  for (const [rows, cols] of [[1, 1], [1, 197], [13, 7], [13, 50], [50, 1], [50, 7], [13, 197]]) {
    it(`rows=${rows} cols=${cols}`, async () => {
      const ctx = await testContext();
      // y is a real softmax output (rounded to f32), computed on the host so this test needs no other kernel.
      const y = Float32Array.from(softmaxRef(randomData(rows * cols, 4), rows, cols));
      const dy = randomData(rows * cols);
      const [yt, dyt] = [ctx.upload(y, [rows, cols], 'y'), ctx.upload(dy, [rows, cols], 'dy')];
      const dx = softmaxBackward(ctx, yt, dyt, 'dx');
      const ref = softmaxBackwardRef(y, dy, rows, cols);
      // dx is y times a difference that can cancel: atol scales with y, which is at most 1.
      expectClose(await ctx.read(dx), ref, 1e-7, 1e-5, 'softmax-backward');
      if (cols > 1) expect(Math.max(...ref.map(Math.abs))).toBeGreaterThan(1e-3);
      for (const t of [yt, dyt, dx]) t.release();
    });
  }
});

describe('softmax-backward float64 reference vs finite differences of softmaxRef', () => {
  for (const [rows, cols] of [[1, 1], [13, 7], [3, 50], [2, 197]]) {
    it(`rows=${rows} cols=${cols}`, () => {
      const x = randomData(rows * cols, 4);
      const dy = randomData(rows * cols);
      const dx = softmaxBackwardRef(softmaxRef(x, rows, cols), dy, rows, cols);
      const loss = (v: ArrayLike<number>) => softmaxRef(v, rows, cols).reduce((s, y, i) => s + dy[i] * y, 0);
      const h = 1e-6;
      for (let k = 0; k < 3; k++) {
        const dir = randomData(rows * cols);
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
