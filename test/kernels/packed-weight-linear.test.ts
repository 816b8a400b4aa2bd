import { describe, expect, it } from 'vitest';
import { uploadPackedWeight } from '../../src/ops/int-linear.js';
import { packedWeightLinear } from '../../src/ops/packed-weight-linear.js';
import type { WeightQuant } from '../../src/quant/quantized-model.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { packedWeightLinearRef } from '../reference/packed-weight-linear.js';

/** A seeded weight quantizer: codes in [0, 2^bits - 1], zero points in [1, 2^bits - 1], scales in [0.02, 0.08]. */
function randomWeight(N: number, K: number, bits: number): WeightQuant {
  const levels = 2 ** bits;
  return {
    bits,
    rows: N,
    cols: K,
    scale: Float32Array.from(randomData(N), (v) => 0.05 + 0.03 * v),
    zeroPoint: Int32Array.from(randomData(N), (v) => 1 + Math.min(levels - 2, Math.floor(((v + 1) / 2) * (levels - 1)))),
    codes: Uint8Array.from(randomData(N * K), (v) => Math.min(levels - 1, Math.floor(((v + 1) / 2) * levels))),
  };
}

describe('packed-weight-linear', () => {
  // [M, K, N]: 1, primes, K with partial groups of 4 (1, 5, 67), and the demo's patch embedding
  // (2 images x 49 patches, K = 1*4*4, D = 64).
  const cases: [number, number, number][] = [[1, 1, 1], [7, 5, 3], [13, 67, 11], [5, 64, 17], [98, 16, 64]];
  for (const bits of [3, 4]) {
    for (const [M, K, N] of cases) {
      for (const withBias of [true, false]) {
        it(`${bits}-bit weights, M=${M} K=${K} N=${N} bias=${withBias}`, async () => {
          const ctx = await testContext();
          const wq = randomWeight(N, K, bits);
          const x = randomData(M * K);
          const bias = randomData(N);
          const weight = uploadPackedWeight(ctx, wq, 'w');
          const xt = ctx.upload(x, [M, K], 'x');
          const bt = ctx.upload(bias, [N], 'bias');
          const y = packedWeightLinear(ctx, xt, weight, withBias ? bt : null, 'y');
          expect(y.shape).toEqual([M, N]);
          const ref = packedWeightLinearRef(x, wq.codes, wq.scale, wq.zeroPoint, withBias ? bias : null, M, K, N);
          // f32 accumulation of K products of |x| <= 1 and |code - zw| < 2^bits, times sw <= 0.08.
          expectClose(await ctx.read(y), ref, 1e-5, 1e-5, 'packed-weight-linear');
          for (const t of [xt, bt, y]) t.release();
          weight.release();
        });
      }
    }
  }

  it('keeps leading dimensions and rejects a mismatched input', async () => {
    const ctx = await testContext();
    const wq = randomWeight(6, 10, 3);
    const weight = uploadPackedWeight(ctx, wq, 'w');
    const x = randomData(2 * 3 * 10);
    const xt = ctx.upload(x, [2, 3, 10], 'x');
    const y = packedWeightLinear(ctx, xt, weight, null, 'y');
    expect(y.shape).toEqual([2, 3, 6]);
    expectClose(await ctx.read(y), packedWeightLinearRef(x, wq.codes, wq.scale, wq.zeroPoint, null, 6, 10, 6), 1e-5, 1e-5, 'batched');
    const bad = ctx.upload(randomData(9), [1, 9], 'bad');
    expect(() => packedWeightLinear(ctx, bad, weight, null, 'y')).toThrow(/does not end in 10/);
    for (const t of [xt, y, bad]) t.release();
    weight.release();
  });
});
