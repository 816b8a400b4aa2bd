import { describe, expect, it } from 'vitest';
import { randomUniform } from '../../src/ops/random-uniform.js';
import { uniforms } from '../../src/util/prng.js';
import { testContext } from '../helpers/gpu.js';
import { randomUniformRef } from '../reference/random-uniform.js';

async function generate(seed: number, stream: number, count: number): Promise<Uint32Array> {
  const ctx = await testContext();
  const out = ctx.empty([count], 'noise');
  randomUniform(ctx, out, seed, stream);
  const bits = await ctx.readU32(out);
  out.release();
  return bits;
}

const asBits = (v: Float32Array) => new Uint32Array(v.buffer, v.byteOffset, v.length);

describe('random-uniform', () => {
  for (const [seed, stream, count] of [
    [0, 0, 1],
    [1, 2, 7],
    [1234, 5, 257],
    [77, 100, 4099],
    [0xffffffff, 0x9e3779b9, 1000],
    [42, -3, 513],
  ]) {
    it(`seed ${seed}, stream ${stream}, ${count} values: bit-exact with src/util/prng.ts`, async () => {
      const got = await generate(seed, stream, count);
      const ref = randomUniformRef(seed, stream, count);
      expect(Array.from(got)).toEqual(Array.from(asBits(ref)));
      const values = new Float32Array(got.buffer);
      expect(values.every((v) => v > 0 && v <= 1)).toBe(true);
      if (count >= 1000) {
        // Draws >= 0.5 need 25 bits: the float32 rounding (ties to even) path must have been taken.
        const exact = uniforms(seed, stream, count);
        expect(exact.filter((u, i) => u !== values[i]).length).toBeGreaterThan(count / 8);
      }
    });
  }

  it('a different seed or stream gives a different sequence', async () => {
    const base = await generate(9, 1, 300);
    for (const other of [await generate(10, 1, 300), await generate(9, 2, 300)]) {
      expect(other.filter((v, i) => v === base[i]).length).toBeLessThan(3);
    }
    // The same seed and stream give the same numbers, and a longer draw extends a shorter one.
    expect(Array.from(await generate(9, 1, 300))).toEqual(Array.from(base));
    expect(Array.from((await generate(9, 1, 301)).subarray(0, 300))).toEqual(Array.from(base));
  });

  it('rejects a non-integer seed', async () => {
    const ctx = await testContext();
    const out = ctx.empty([4], 'noise');
    expect(() => randomUniform(ctx, out, 1.5, 0)).toThrow(/integers/);
    out.release();
  });
});
