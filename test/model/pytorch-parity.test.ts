/**
 * Engine logits vs PyTorch (golden fixtures written by tools/make_fixtures.py).
 * Relative error = max |engine - torch| / max |torch| over all logits of the fixture.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDataset } from '../../src/data/open.js';
import { loadVitCheckpoint } from '../../src/io/checkpoint-node.js';
import { VitModel } from '../../src/model/vit.js';
import { PACKAGE_ROOT } from '../../src/runtime/node-gpu.js';
import { uniformTensor } from '../../src/util/prng.js';
import { maxRelativeError, testContext } from '../helpers/gpu.js';
import { randomVitCheckpoint } from '../helpers/random-vit.js';

const fixture = (name: string) => JSON.parse(readFileSync(join(PACKAGE_ROOT, 'test', 'fixtures', name), 'utf8'));

describe('PyTorch parity', () => {
  it('random-weight deit_tiny_patch16_224 (3x224x224, 1000 classes): max relative error < 1e-3', async () => {
    const f = fixture('deit-tiny-random.json');
    const ckpt = randomVitCheckpoint(JSON.stringify(f.config), f.weight_seed);
    const { seed, stream, scale, count } = f.image;
    const images = uniformTensor(seed, stream, count * 3 * 224 * 224, 0, scale);
    const ctx = await testContext();
    const model = VitModel.upload(ctx, ckpt);
    const imgT = ctx.upload(images, [count, 3, 224, 224], 'images');
    const logits = model.forward(imgT);
    const got = await ctx.read(logits);
    const rel = maxRelativeError(got, f.logits.flat());
    console.log(`deit_tiny random: max relative error ${rel.toExponential(2)}`);
    expect(rel).toBeLessThan(1e-3);
    logits.release();
    imgT.release();
    model.release();
  });

  it('demo model on the first 16 Fashion-MNIST test images: max relative error < 1e-4', async () => {
    const f = fixture('demo-logits.json');
    const ckpt = await loadVitCheckpoint(join(PACKAGE_ROOT, 'demo', 'fashion-vit'), 'the test');
    const data = await openDataset('fashion-mnist:test', ckpt.config.preprocess);
    const batch = await data.batch(Array.from({ length: f.first }, (_, i) => i));
    const ctx = await testContext();
    const model = VitModel.upload(ctx, ckpt);
    const imgT = ctx.upload(batch.pixels, [f.first, 1, 28, 28], 'images');
    const logits = model.forward(imgT);
    const rel = maxRelativeError(await ctx.read(logits), f.logits.flat());
    console.log(`demo: max relative error ${rel.toExponential(2)}`);
    expect(rel).toBeLessThan(1e-4);
    logits.release();
    imgT.release();
    model.release();
  });
});
