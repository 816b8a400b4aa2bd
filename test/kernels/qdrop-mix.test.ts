import { describe, expect, it } from 'vitest';
import { qdropMix } from '../../src/ops/qdrop-mix.js';
import { uniforms } from '../../src/util/prng.js';
import { randomData, testContext } from '../helpers/gpu.js';
import { qdropMixRef } from '../reference/qdrop-mix.js';

describe('qdrop-mix', () => {
  for (const count of [1, 255, 1031]) {
    for (const keepProb of [0, 0.5, 1]) {
      it(`${count} elements, keep ${keepProb}`, async () => {
        const ctx = await testContext();
        const q = randomData(count, 2);
        const f = randomData(count, 2);
        const noise = Float32Array.from(uniforms(61, count, count));
        const t = [ctx.upload(q, [count], 'q'), ctx.upload(f, [count], 'f'), ctx.upload(noise, [count], 'noise')];
        const out = qdropMix(ctx, t[0], t[1], t[2], keepProb, 'mixed');
        const got = await ctx.read(out);
        expect(Array.from(got)).toEqual(Array.from(qdropMixRef(q, f, noise, keepProb)));
        const kept = got.filter((v, i) => v === q[i]).length;
        if (keepProb === 0) expect(kept).toBe(0);
        if (keepProb === 1) expect(kept).toBe(count);
        if (keepProb === 0.5 && count > 100) expect(Math.abs(kept / count - 0.5)).toBeLessThan(0.1);
        for (const v of [...t, out]) v.release();
      });
    }
  }

  it('rejects tensors of different sizes', async () => {
    const ctx = await testContext();
    const [a, b] = [ctx.upload(randomData(4), [4], 'a'), ctx.upload(randomData(5), [5], 'b')];
    expect(() => qdropMix(ctx, a, a, b, 0.5, 'mixed')).toThrow(/sizes differ/);
    a.release();
    b.release();
  });
});
