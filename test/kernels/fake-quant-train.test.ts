import { describe, expect, it } from 'vitest';
import { fakeQuantInto, viewCount } from '../../src/ops/fake-quant.js';
import { fakeQuantTrainInto } from '../../src/ops/fake-quant-train.js';
import type { GpuContext } from '../../src/runtime/context.js';
import { randomData, testContext } from '../helpers/gpu.js';
import { fakeQuantTrainRef, forEachViewedIndexed, TRAIN_VIEW_CASES, trainData, type TrainData, type TrainViewCase } from '../reference/fake-quant-train.js';

async function runTrain(ctx: GpuContext, c: TrainViewCase, d: TrainData, keepProb: number, bits: number): Promise<Float32Array> {
  const t = [d.x, d.scale, d.zp, d.noise].map((v, i) => ctx.upload(v, [v.length], `in${i}`));
  const y = ctx.upload(d.init, [d.init.length], 'y');
  fakeQuantTrainInto(ctx, t[0], t[1], t[2], t[3], keepProb, bits, c.view, y);
  const got = await ctx.read(y);
  for (const v of [...t, y]) v.release();
  return got;
}

describe('fake-quant-train', () => {
  for (const c of TRAIN_VIEW_CASES) {
    for (const keepProb of [0.5, 1]) {
      it(`${c.name}, keep ${keepProb}: matches the reference exactly`, async () => {
        const ctx = await testContext();
        const bits = 4;
        const d = trainData(c, bits);
        const got = await runTrain(ctx, c, d, keepProb, bits);
        const ref = fakeQuantTrainRef(d.x, d.scale, d.zp, d.noise, keepProb, bits, c.view, d.init);
        expect(Array.from(got)).toEqual(Array.from(ref));
        let dropped = 0;
        let changed = 0;
        forEachViewedIndexed(c.view, (at, _si, _zi, idx) => {
          if (d.noise[idx] >= keepProb) dropped++;
          if (got[at] !== d.x[at]) changed++;
        });
        if (keepProb === 1) expect(dropped).toBe(0);
        if (viewCount(c.view) >= 50) {
          expect(changed).toBeGreaterThan(0);
          if (keepProb < 1) expect(dropped).toBeGreaterThan(0);
        }
      });
    }

    it(`${c.name}: keep 1 gives fake-quant's output bit for bit; keep 0 passes x through`, async () => {
      const ctx = await testContext();
      const bits = 3;
      const d = trainData(c, bits);
      d.x.set(randomData(c.length, 2)); // raw random inputs, rounding ties not avoided
      const xs = [d.x, d.scale, d.zp].map((v, i) => ctx.upload(v, [v.length], `in${i}`));
      const y = ctx.upload(d.init, [d.init.length], 'y');
      fakeQuantInto(ctx, xs[0], xs[1], xs[2], bits, c.view, y);
      const plain = await ctx.readU32(y);
      const trained = new Uint32Array((await runTrain(ctx, c, d, 1, bits)).buffer);
      expect(Array.from(trained)).toEqual(Array.from(plain));
      const passed = await runTrain(ctx, c, d, 0, bits);
      const expected = Float32Array.from(d.init);
      forEachViewedIndexed(c.view, (at) => {
        expected[at] = d.x[at];
      });
      expect(Array.from(passed)).toEqual(Array.from(expected));
      for (const v of [...xs, y]) v.release();
    });
  }

  it('rejects noise shorter than the view', async () => {
    const ctx = await testContext();
    const c = TRAIN_VIEW_CASES[1];
    const [x, s, z, n] = [ctx.upload(randomData(c.length), [c.length], 'x'), ctx.upload(randomData(c.scales), [c.scales], 's'), ctx.upload(randomData(1), [1], 'z'), ctx.upload(randomData(5), [5], 'n')];
    expect(() => fakeQuantTrainInto(ctx, x, s, z, n, 0.5, 4, c.view, x)).toThrow(/noise has 5 values/);
    for (const v of [x, s, z, n]) v.release();
  });
});
