import { describe, expect, it } from 'vitest';
import { reducePartials } from '../../src/ops/reduce-partials.js';
import type { GpuContext } from '../../src/runtime/context.js';
import { randomData, testContext } from '../helpers/gpu.js';
import { reducePartialsRef } from '../reference/reduce-partials.js';

// Other scalars that share the output tensor; only the written lanes may change.
const SENTINELS = Float32Array.from([7.5, -1, 3.25, 0.125]);

async function reduce(ctx: GpuContext, partials: Float32Array, count: number, divisors: number[], outIndex: number): Promise<Float32Array> {
  const pt = ctx.upload(partials, [partials.length], 'partials');
  const out = ctx.upload(SENTINELS, [SENTINELS.length], 'out');
  reducePartials(ctx, pt, count, divisors, out, outIndex, 'reduce');
  const got = await ctx.read(out);
  for (const t of [pt, out]) t.release();
  return got;
}

describe('reduce-partials', () => {
  // [count, divisors, output slot]: fewer, exactly and more partials than the workgroup's 256 invocations.
  for (const [count, divisors, outIndex] of [
    [1, [1], 0],
    [1, [3, 7], 2],
    [255, [32], 3],
    [256, [32, 32 * 384], 0],
    [4096, [7], 1],
    [2357, [197, 197 * 13], 1],
    [65536, [32, 32 * 75648], 2],
  ] as const) {
    it(`${count} partials, ${divisors.length} lane(s) into out[${outIndex}]`, async () => {
      const ctx = await testContext();
      const partials = randomData(divisors.length * count, 5);
      const got = await reduce(ctx, partials, count, [...divisors], outIndex);
      const expected = Float64Array.from(SENTINELS);
      reducePartialsRef(partials, count, divisors).forEach((v, l) => (expected[outIndex + l] = v));
      // Kahan-summed: the error stays near one rounding of Σ|partials|.
      const magnitude = reducePartialsRef(Float32Array.from(partials, Math.abs), count, divisors);
      for (let i = 0; i < SENTINELS.length; i++) {
        const l = i - outIndex;
        if (l >= 0 && l < divisors.length) expect(Math.abs(got[i] - expected[i]), `lane ${l}`).toBeLessThanOrEqual(1e-6 * magnitude[l]);
        else expect(got[i]).toBe(SENTINELS[i]);
      }
      expect(Array.from(await reduce(ctx, partials, count, [...divisors], outIndex))).toEqual(Array.from(got));
    });
  }

  it('rejects lanes and indices it cannot write', async () => {
    const ctx = await testContext();
    const pt = ctx.upload(randomData(6), [6], 'partials');
    const out = ctx.empty([2], 'out');
    expect(() => reducePartials(ctx, pt, 2, [1, 1, 1], out, 0, 'r')).toThrow(/lanes/);
    expect(() => reducePartials(ctx, pt, 4, [1, 1], out, 0, 'r')).toThrow(/partials/);
    expect(() => reducePartials(ctx, pt, 3, [1, 1], out, 1, 'r')).toThrow(/outside/);
    for (const t of [pt, out]) t.release();
  });
});
