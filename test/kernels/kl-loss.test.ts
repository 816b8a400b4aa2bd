import { describe, expect, it } from 'vitest';
import { klLoss } from '../../src/ops/kl-loss.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { klLossRef } from '../reference/kl-loss.js';

// Other scalars that share the output tensor; only out[outIndex] may change.
const SENTINELS = Float32Array.from([7.5, -1, 3.25]);

async function gpuKl(yhat: Float32Array, target: Float32Array, rows: number, outIndex: number, temperature = 1): Promise<Float32Array> {
  const ctx = await testContext();
  const [yhatT, targetT] = [ctx.upload(yhat, [yhat.length], 'yhat'), ctx.upload(target, [target.length], 'target')];
  const out = ctx.upload(SENTINELS, [SENTINELS.length], 'out');
  klLoss(ctx, yhatT, targetT, rows, out, outIndex, temperature);
  const got = await ctx.read(out);
  for (const t of [yhatT, targetT, out]) t.release();
  for (let i = 0; i < SENTINELS.length; i++) if (i !== outIndex) expect(got[i]).toBe(SENTINELS[i]);
  return got;
}

describe('kl-loss (batchmean)', () => {
  // [rows B, classes C, output slot]
  // One invocation per row; past MAX_PARTIALS (65536) rows the invocations take several rows each.
  for (const [rows, C, outIndex] of [[1, 1, 0], [7, 1, 2], [1, 10, 1], [7, 10, 0], [32, 10, 2], [1, 1000, 0], [7, 1000, 1], [32, 97, 2], [65539, 3, 1], [5, 131, 0]]) {
    it(`${rows} rows of ${C} classes into out[${outIndex}]`, async () => {
      const yhat = randomData(rows * C, 4);
      const target = randomData(rows * C, 5);
      const got = await gpuKl(yhat, target, rows, outIndex);
      const ref = klLossRef(yhat, target, rows, C);
      // One class: both distributions are 1, the loss is exactly 0.
      if (C === 1) expect(got[outIndex]).toBe(0);
      expectClose([got[outIndex]], [ref], 1e-7, 1e-5, 'kl loss');
      // A fixed reduction order gives the same bits every time.
      expect((await gpuKl(yhat, target, rows, outIndex))[outIndex]).toBe(got[outIndex]);
    });
  }

  it('subtracts the row maximum: logits near ±100 (exp would overflow) give the shifted loss', async () => {
    const [rows, C] = [7, 10];
    const yhat = randomData(rows * C, 4);
    const target = randomData(rows * C, 5);
    const shiftedYhat = Float32Array.from(yhat, (v) => v - 90);
    const shiftedTarget = Float32Array.from(target, (v) => v + 100);
    const got = await gpuKl(shiftedYhat, shiftedTarget, rows, 0);
    expectClose([got[0]], [klLossRef(shiftedYhat, shiftedTarget, rows, C)], 1e-7, 1e-5, 'kl loss, shifted logits');
  });

  it('a prediction close to the target: error stays at the float32 floor of lse_t - lse_yhat', async () => {
    const [rows, C] = [7, 100];
    const target = randomData(rows * C, 5);
    const noise = randomData(rows * C, 0.01);
    const yhat = Float32Array.from(target, (v, i) => v + noise[i]);
    const got = await gpuKl(yhat, target, rows, 1);
    const ref = klLossRef(yhat, target, rows, C);
    expect(ref).toBeLessThan(1e-4);
    // The absolute error is about eps32 · |logit| (~6e-7 here), not relative to the small loss.
    expectClose([got[1]], [ref], 3e-7, 0, 'kl loss, near target');
    expect(got[1]).toBeGreaterThan(0);
  });

  it('with a temperature (the Fisher snapshots use T = 20)', async () => {
    for (const [rows, C, t] of [[4, 10, 20], [32, 1000, 20], [3, 7, 0.5]]) {
      const yhat = randomData(rows * C, 30);
      const target = randomData(rows * C, 30);
      const got = await gpuKl(yhat, target, rows, 2, t);
      expectClose([got[2]], [klLossRef(yhat, target, rows, C, t)], 1e-8, 1e-4, `kl loss, T = ${t}`);
    }
  });
});
