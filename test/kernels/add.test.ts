import { describe, it } from 'vitest';
import { add } from '../../src/ops/add.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';

describe('add (residual)', () => {
  for (const count of [1, 257, 65536 * 3 + 5]) {
    it(`count=${count}`, async () => {
      const ctx = await testContext();
      const a = randomData(count);
      const b = randomData(count, 2);
      const [at, bt] = [ctx.upload(a, [count], 'a'), ctx.upload(b, [count], 'b')];
      const y = add(ctx, at, bt, 'y');
      // float32 addition of two float32 values is exactly the rounded float64 sum.
      expectClose(await ctx.read(y), Float32Array.from(a, (v, i) => v + b[i]), 0, 0, 'add');
      // With alpha = -1 the result is the exactly rounded difference too.
      const d = add(ctx, at, bt, 'd', -1);
      expectClose(await ctx.read(d), Float32Array.from(a, (v, i) => v - b[i]), 0, 0, 'subtract');
      for (const t of [at, bt, y, d]) t.release();
    });
  }
});
