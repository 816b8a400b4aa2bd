/** End-to-end calibration on a small random ViT: RepQ-ViT preserves the function, files round-trip, 8 bits stay close to float. */
import { describe, expect, it } from 'vitest';
import { parseQuantizedModel, serializeQuantizedModel } from '../../src/io/quantized-file.js';
import { VitModel } from '../../src/model/vit.js';
import { calibrate } from '../../src/quant/calibrate.js';
import { FakeQuantModel } from '../../src/quant/fake-quant-model.js';
import { uniformTensor } from '../../src/util/prng.js';
import { logitsAndRelease, maxRelativeError, testContext } from '../helpers/gpu.js';
import { randomVitCheckpoint } from '../helpers/random-vit.js';

const INFO = { method: 'test', wbits: 0, abits: 0, seed: 1, calibSize: 12, calibData: 'random', toolVersion: 'test' };
const CONFIG = JSON.stringify({ architecture: 'vit_tiny_patch4_12', model_args: { img_size: 12, patch_size: 4, in_chans: 1, embed_dim: 16, depth: 2, num_heads: 2, num_classes: 6 } });
const ckpt = randomVitCheckpoint(CONFIG, 21);
const c = ckpt.config;
const count = 12;
const images = uniformTensor(8, 8, count * c.inChans * c.imgSize * c.imgSize, 0, 1.5);

describe('calibrate', () => {
  it('calib W4A4: RepQ-ViT keeps the float function, the result serializes and evaluates', async () => {
    const ctx = await testContext();
    const r = await calibrate(ctx, ckpt, images, count, { method: 'calib', wbits: 4, abits: 4, eqN: 32, rounds: 1, batchSize: 5 });
    const original = await logitsAndRelease(VitModel.upload(ctx, ckpt), images, count);
    // The folded LayerNorm / qkv / fc1 parameters must compute the same float function.
    expect(r.reparameterized.get('blocks.0.norm1.weight')).not.toEqual(ckpt.weights.get('blocks.0.norm1.weight'));
    const folded = await logitsAndRelease(VitModel.upload(ctx, { ...ckpt, weights: r.reparameterized }), images, count);
    expect(maxRelativeError(folded, original)).toBeLessThan(1e-5);
    const file = serializeQuantizedModel({ ...r.quantized, configText: CONFIG, info: { ...INFO, method: 'calib', wbits: 4, abits: 4 } });
    const back = parseQuantizedModel(file, 'calib.safetensors');
    const quantized = await logitsAndRelease(FakeQuantModel.upload(ctx, back), images, count);
    expect(quantized.every(Number.isFinite)).toBe(true);
    expect(maxRelativeError(quantized, original)).toBeLessThan(1);
  });

  it('rtn at 8 bits stays close to float; at 4 bits the calibration search beats rtn', async () => {
    const ctx = await testContext();
    const original = await logitsAndRelease(VitModel.upload(ctx, ckpt), images, count);
    const errors: Record<string, number> = {};
    for (const [method, bits] of [['rtn', 8], ['rtn', 4], ['calib', 4]] as const) {
      const r = await calibrate(ctx, ckpt, images, count, { method, wbits: bits, abits: bits });
      errors[`${method}${bits}`] = maxRelativeError(await logitsAndRelease(FakeQuantModel.upload(ctx, { ...r.quantized, configText: CONFIG, info: INFO }), images, count), original);
    }
    expect(errors.rtn8).toBeLessThan(0.05);
    expect(errors.rtn4).toBeGreaterThan(errors.rtn8);
    expect(errors.calib4).toBeLessThan(errors.rtn4);
  });
});
