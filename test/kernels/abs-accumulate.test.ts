import { describe, it } from 'vitest';
import { absAccumulate } from '../../src/ops/abs-accumulate.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { absAccumulateRef } from '../reference/abs-accumulate.js';

describe('abs-accumulate', () => {
  for (const [rows, cols] of [[1, 1], [7, 5], [32, 3200], [3, 257]]) {
    for (const [withY, square] of [[false, false], [true, false], [false, true]]) {
      it(`${rows} rows of ${cols}, ${square ? 'x²' : withY ? '|x - y|' : '|x|'}, accumulated over two batches`, async () => {
        const ctx = await testContext();
        const acc0 = randomData(cols, 1);
        const acc = ctx.upload(acc0, [cols], 'acc');
        let ref: Float64Array = Float64Array.from(acc0);
        for (let batch = 0; batch < 2; batch++) {
          const x = randomData(rows * cols, 2);
          const y = withY ? randomData(rows * cols, 2) : null;
          const xt = ctx.upload(x, [rows, cols], 'x');
          const yt = y ? ctx.upload(y, [rows, cols], 'y') : null;
          absAccumulate(ctx, xt, yt, acc, square);
          ref = absAccumulateRef(ref, x, y, square);
          xt.release();
          yt?.release();
        }
        expectClose(await ctx.read(acc), ref, 1e-5, 1e-5, 'acc');
        acc.release();
      });
    }
  }
});
