import { describe, expect, it } from 'vitest';
import { sampleIndices } from '../../src/ops/sample-indices.js';
import { uniforms } from '../../src/util/prng.js';
import { testContext } from '../helpers/gpu.js';
import { sampleIndicesRef } from '../reference/sample-indices.js';

let stream = 900;
const noiseOf = (count: number) => Float32Array.from(uniforms(41, stream++, count));

function expectPermutation(perm: ArrayLike<number>, population: number): void {
  expect(Array.from(perm).sort((a, b) => a - b)).toEqual(Array.from({ length: population }, (_, i) => i));
}

describe('sample-indices (partial Fisher-Yates)', () => {
  // [population, count, perm length]: one element, a full shuffle, primes, non-multiples of WG, B=32 of M=1024.
  for (const [population, count, permLength] of [[1, 1, 1], [7, 7, 7], [13, 5, 20], [257, 32, 257], [1024, 32, 1024], [1000, 1, 1031]]) {
    it(`population ${population}, ${count} draws, perm of ${permLength}`, async () => {
      const ctx = await testContext();
      const noise = noiseOf(count + 3);
      const noiseT = ctx.upload(noise, [noise.length], 'noise');
      // perm starts poisoned (NaN bits): the kernel must reset it to the identity itself.
      const perm = ctx.empty([permLength], 'perm', 'u32');
      const out = ctx.empty([count], 'out', 'u32');
      sampleIndices(ctx, noiseT, perm, out, population);
      const got = await ctx.readU32(out);
      const ref = sampleIndicesRef(noise, population, count);
      expect(Array.from(got)).toEqual(Array.from(ref.out));
      expect(new Set(got).size).toBe(count);
      for (const v of got) expect(v).toBeLessThan(population);
      const gotPerm = (await ctx.readU32(perm)).subarray(0, population);
      expect(Array.from(gotPerm)).toEqual(Array.from(ref.perm));
      expectPermutation(gotPerm, population);
      for (const t of [noiseT, perm, out]) t.release();
    });
  }

  it('reuses a shuffled perm and clamps noise that rounded to 1.0', async () => {
    const ctx = await testContext();
    const population = 37;
    // perm is longer than the population, so a j past population - 1 would read poison, not a clamped slot.
    const perm = ctx.empty([population + 3], 'perm', 'u32');
    const out = ctx.empty([6], 'out', 'u32');
    // 1 - 2^-25 (the top uniform) rounds to 1.0 in float32; 2^-24 is the smallest.
    const edges = Float32Array.from([1, 2 ** -24, 1 - 2 ** -24, 0.5, 1, 2 ** -24]);
    const draws = [noiseOf(6), edges, noiseOf(6)];
    for (const noise of draws) {
      const noiseT = ctx.upload(noise, [noise.length], 'noise');
      sampleIndices(ctx, noiseT, perm, out, population);
      expect(Array.from(await ctx.readU32(out))).toEqual(Array.from(sampleIndicesRef(noise, population, 6).out));
      noiseT.release();
    }
    // Worked by hand: 1.0 takes the last slot (36, then perm[36] = 2 at b = 4), 2^-24 the current one,
    // and 35 (1 - 2^-24) rounds below 35 in float32, so b = 2 also takes slot 36 (holding 0 after b = 0).
    expect(Array.from(sampleIndicesRef(edges, population, 6).out)).toEqual([36, 1, 0, 20, 2, 5]);
    perm.release();
    out.release();
  });

  it('reference draws are distinct and uniform over many batches', () => {
    // Reference-only statistics: each index of 0..63 is drawn about equally often over 4000 batches of 8.
    const counts = new Float64Array(64);
    for (let k = 0; k < 4000; k++) {
      const out = sampleIndicesRef(noiseOf(8), 64, 8).out;
      expect(new Set(out).size).toBe(8);
      for (const v of out) counts[v]++;
    }
    const expected = (4000 * 8) / 64;
    for (const c of counts) expect(Math.abs(c - expected)).toBeLessThan(6 * Math.sqrt(expected));
  });
});
