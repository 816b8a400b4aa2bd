/**
 * Swin engine logits vs timm's own SwinTransformer (fixtures written by tools/make_swin_fixtures.py).
 * Relative error = max |engine - timm| / max |timm| over all logits of the fixture.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDataset } from '../../src/data/open.js';
import { evaluate } from '../../src/inference/evaluate.js';
import { loadCheckpoint } from '../../src/io/checkpoint-node.js';
import { isSwinCheckpoint } from '../../src/model/checkpoint.js';
import { SwinModel, swinParameterCount } from '../../src/model/swin.js';
import { PACKAGE_ROOT } from '../../src/runtime/node-gpu.js';
import { uniformTensor } from '../../src/util/prng.js';
import { maxRelativeError, testContext } from '../helpers/gpu.js';
import { randomSwinCheckpoint } from '../helpers/random-vit.js';

interface RandomSwinFixture {
  name: string;
  config: unknown;
  weight_seed: number;
  parameters: number;
  image: { seed: number; stream: number; scale: number; count: number; size: [number, number, number] };
  logits: number[][];
}

const random = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'test', 'fixtures', 'swin-random.json'), 'utf8')) as { models: RandomSwinFixture[] };
// swin_tiny (28 M parameters, 4.5 GFLOP per image) within 1e-3 as the issue asks; the small padded model within 1e-4.
const TOLERANCE: Record<string, number> = { swin_tiny: 1e-3, padded: 1e-4 };

describe('Swin: timm parity', () => {
  for (const f of random.models) {
    it(`random-weight ${f.name}: parameters as timm counts them, logits within ${TOLERANCE[f.name]}`, async () => {
      const ckpt = randomSwinCheckpoint(JSON.stringify(f.config), f.weight_seed);
      expect(swinParameterCount(ckpt.config)).toBe(f.parameters);
      const { seed, stream, scale, count, size } = f.image;
      const images = uniformTensor(seed, stream, count * size[0] * size[1] * size[2], 0, scale);
      const ctx = await testContext();
      const model = SwinModel.upload(ctx, ckpt);
      const imgT = ctx.upload(images, [count, ...size], 'images');
      const logits = model.forward(imgT);
      const rel = maxRelativeError(await ctx.read(logits), f.logits.flat());
      console.log(`${f.name} random: max relative error ${rel.toExponential(2)}`);
      expect(rel).toBeLessThan(TOLERANCE[f.name]!);
      logits.release();
      imgT.release();
      model.release();
    });
  }

  const demo = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'test', 'fixtures', 'swin-demo-logits.json'), 'utf8')) as { first: number; logits: number[][]; predictions: string };

  it('the demo Swin on the first 16 Fashion-MNIST test images: max relative error < 1e-4', async () => {
    const ckpt = await loadCheckpoint(join(PACKAGE_ROOT, 'demo', 'fashion-swin'));
    if (!isSwinCheckpoint(ckpt)) throw new Error('demo/fashion-swin is not a Swin');
    const data = await openDataset('fashion-mnist:test', ckpt.config.preprocess);
    const batch = await data.batch(Array.from({ length: demo.first }, (_, i) => i));
    const ctx = await testContext();
    const model = SwinModel.upload(ctx, ckpt);
    const imgT = ctx.upload(batch.pixels, [demo.first, 1, 28, 28], 'images');
    const logits = model.forward(imgT);
    const rel = maxRelativeError(await ctx.read(logits), demo.logits.flat());
    console.log(`demo Swin: max relative error ${rel.toExponential(2)}`);
    expect(rel).toBeLessThan(1e-4);
    logits.release();
    imgT.release();
    model.release();
  });

  it('the demo Swin predicts the classes timm predicts on the first 500 test images', async () => {
    const ckpt = await loadCheckpoint(join(PACKAGE_ROOT, 'demo', 'fashion-swin'));
    if (!isSwinCheckpoint(ckpt)) throw new Error('demo/fashion-swin is not a Swin');
    const data = await openDataset('fashion-mnist:test', ckpt.config.preprocess);
    const ctx = await testContext();
    const model = SwinModel.upload(ctx, ckpt);
    const r = await evaluate(model, data, { limit: 500, batchSize: 100 });
    model.release();
    let differ = 0;
    for (let i = 0; i < 500; i++) if (r.predictions[i] !== Number(demo.predictions[i])) differ++;
    expect(differ).toBeLessThanOrEqual(1);
  });
});
