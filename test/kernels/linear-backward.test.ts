import { describe, it } from 'vitest';
import { linearInputGrad, linearWeightGrad } from '../../src/ops/linear-backward.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { linearInputGradRef, linearWeightGradRef } from '../reference/linear-backward.js';

describe('linear backward (dX = dY.W, dW = dY^T.X)', () => {
  for (const [rows, outF, inF] of [[1, 1, 1], [7, 5, 3], [100, 48, 16], [161, 16, 33]]) {
    it(`rows=${rows} out=${outF} in=${inF}`, async () => {
      const ctx = await testContext();
      const dy = randomData(rows * outF, 1);
      const w = randomData(outF * inF, 1);
      const x = randomData(rows * inF, 2);
      const dyT = ctx.upload(dy, [rows, outF], 'dy');
      const wT = ctx.upload(w, [outF, inF], 'w');
      const xT = ctx.upload(x, [rows, inF], 'x');
      const dx = linearInputGrad(ctx, dyT, wT, 'dx');
      const dw = linearWeightGrad(ctx, dyT, xT, outF, 'dw');
      expectClose(await ctx.read(dx), linearInputGradRef(dy, w, rows, outF, inF), 1e-5, 1e-5, 'dx');
      expectClose(await ctx.read(dw), linearWeightGradRef(dy, x, rows, outF, inF), 1e-4, 1e-5, 'dw');
      for (const t of [dyT, wT, xT, dx, dw]) t.release();
    });
  }
});
