import { describe, expect, it } from 'vitest';
import { sumSlices } from '../../src/ops/sum-slices.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { sumSlicesRef } from '../reference/sum-slices.js';

describe('sum-slices', () => {
  // [slices, M, N, C's row stride, C's offset, bias]: one slice, primes, a strided C with an offset.
  for (const [count, M, N, rowStride, offset, withBias] of [
    [1, 1, 1, 1, 0, false],
    [3, 7, 13, 13, 0, true],
    [8, 67, 130, 131, 5, true],
    [64, 5, 1001, 1001, 0, false],
  ] as const) {
    it(`${count} slices of [${M}, ${N}] into rows of ${rowStride} at ${offset}${withBias ? ', bias' : ''}`, async () => {
      const ctx = await testContext();
      const slices = randomData(count * M * N, 3);
      const bias = withBias ? randomData(N) : undefined;
      const size = offset + (M - 1) * rowStride + N;
      const c = ctx.upload(randomData(size), [size], 'c');
      const before = await ctx.read(c);
      const st = ctx.upload(slices, [count * M * N], 'slices');
      const bt = bias ? ctx.upload(bias, [N], 'bias') : undefined;
      sumSlices(ctx, { slices: st, count, M, N, c: { tensor: c, offset, rowStride }, bias: bt, alpha: 0.75 });
      const got = await ctx.read(c);
      const ref = sumSlicesRef(slices, count, M, N, 0.75, bias);
      const written = new Set<number>();
      const gotRows: number[] = [];
      for (let m = 0; m < M; m++)
        for (let n = 0; n < N; n++) {
          written.add(offset + m * rowStride + n);
          gotRows.push(got[offset + m * rowStride + n]);
        }
      // An in-order float32 sum of `count` terms: a few roundings of the magnitude (|values| <= 3).
      expectClose(gotRows, ref, 4e-7 * 3 * (count + 1), 2e-7, 'sum');
      // Elements between C's rows are left as they were.
      got.forEach((v, i) => {
        if (!written.has(i)) expect(v).toBe(before[i]);
      });
      for (const t of [c, st, ...(bt ? [bt] : [])]) t.release();
    });
  }
});
