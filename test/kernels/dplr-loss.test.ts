import { describe, expect, it } from 'vitest';
import { dplrLoss } from '../../src/ops/dplr-loss.js';
import type { GpuContext } from '../../src/runtime/context.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { dplrTermsRef } from '../reference/dplr-loss.js';

// The terms the loss writes over: both must change.
const SENTINELS = Float32Array.from([7.5, -1, 3.25]);

async function terms(ctx: GpuContext, data: Float32Array[]): Promise<Float32Array> {
  const [yhat, y, gbar, a, c] = data.map((v, i) => ctx.upload(v, [v.length], `in${i}`));
  const out = ctx.upload(SENTINELS, [SENTINELS.length], 'out');
  dplrLoss(ctx, yhat, y, gbar, a, c, out);
  const got = await ctx.read(out);
  for (const t of [yhat, y, gbar, a, c, out]) t.release();
  expect(got[2]).toBe(SENTINELS[2]);
  return got;
}

describe('dplr-loss', () => {
  // [B, D, rank]: one workgroup; the rank's terms outnumbering the diagonal's (past one pass of the
  // workgroup for [30, 2, 40]); 129 first-pass workgroups.
  for (const [rows, cols, rank] of [[1, 1, 1], [3, 7, 11], [30, 2, 40], [7, 130, 5], [32, 4099, 5]]) {
    it(`B=${rows} D=${cols} rank=${rank}`, async () => {
      const ctx = await testContext();
      const data = [randomData(rows * cols, 2), randomData(rows * cols, 2), Float32Array.from(randomData(cols, 1), Math.abs), randomData(rows * rank, 3), randomData(rows * rank, 3)];
      const got = await terms(ctx, data);
      const ref = dplrTermsRef(data[0], data[1], data[2], data[3], data[4], rows, cols);
      // The low-rank term's products have both signs: its error is relative to Σ|A∘C|.
      const lrMagnitude = dplrTermsRef([], [], [], data[3].map(Math.abs), data[4].map(Math.abs), rows, cols).lowRank;
      expect(Math.abs(got[0] - ref.lowRank)).toBeLessThanOrEqual(1e-6 * lrMagnitude);
      expectClose([got[1]], [ref.diag], 0, 1e-5, 'diagonal term');
      // A fixed reduction order gives the same bits every time.
      expect(Array.from(await terms(ctx, data))).toEqual(Array.from(got));
    });
  }
});
