/** End-to-end calibration on a small random ViT: RepQ-ViT preserves the function, files round-trip, 8 bits stay close to float. */
import { describe, expect, it } from 'vitest';
import { parseQuantizedModel, serializeQuantizedModel } from '../../src/io/quantized-file.js';
import { VitModel } from '../../src/model/vit.js';
import { calibrate } from '../../src/quant/calibrate.js';
import { FakeQuantModel } from '../../src/quant/fake-quant-model.js';
import type { Tensor } from '../../src/runtime/context.js';
import { uniformTensor } from '../../src/util/prng.js';
import { testContext } from '../helpers/gpu.js';
import { randomVitCheckpoint } from '../helpers/random-vit.js';

const INFO = { method: 'test', wbits: 0, abits: 0, seed: 1, calibSize: 12, calibData: 'random', toolVersion: 'test' };
const CONFIG = JSON.stringify({ architecture: 'vit_tiny_patch4_12', model_args: { img_size: 12, patch_size: 4, in_chans: 1, embed_dim: 16, depth: 2, num_heads: 2, num_classes: 6 } });
const ckpt = randomVitCheckpoint(CONFIG, 21);
const c = ckpt.config;
const count = 12;
const images = uniformTensor(8, 8, count * c.inChans * c.imgSize * c.imgSize, 0, 1.5);

function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return err / scale;
}

async function logitsOf(model: { forward(t: Tensor): Tensor; release(): void }): Promise<Float32Array> {
  const ctx = await testContext();
  const input = ctx.upload(images, [count, c.inChans, c.imgSize, c.imgSize], 'images');
  const out = await ctx.read(model.forward(input));
  input.release();
  model.release();
  return out;
}

describe('calibrate', () => {
  it('calib W4A4: RepQ-ViT keeps the float function, the result serializes and evaluates', async () => {
    const ctx = await testContext();
    const r = await calibrate(ctx, ckpt, images, count, { method: 'calib', wbits: 4, abits: 4, eqN: 32, rounds: 1, batchSize: 5 });
    const original = await logitsOf(VitModel.upload(ctx, ckpt));
    // The folded LayerNorm / qkv / fc1 parameters must compute the same float function.
    expect(r.reparameterized.get('blocks.0.norm1.weight')).not.toEqual(ckpt.weights.get('blocks.0.norm1.weight'));
    const folded = await logitsOf(VitModel.upload(ctx, { ...ckpt, weights: r.reparameterized }));
    expect(relError(folded, original)).toBeLessThan(1e-5);
    const file = serializeQuantizedModel({ ...r.quantized, configText: CONFIG, info: { ...INFO, method: 'calib', wbits: 4, abits: 4 } });
    const back = parseQuantizedModel(file, 'calib.safetensors');
    const quantized = await logitsOf(FakeQuantModel.upload(ctx, back));
    expect(quantized.every(Number.isFinite)).toBe(true);
    expect(relError(quantized, original)).toBeLessThan(1);
  });

  it('rtn at 8 bits stays close to float; at 4 bits the calibration search beats rtn', async () => {
    const ctx = await testContext();
    const original = await logitsOf(VitModel.upload(ctx, ckpt));
    const errors: Record<string, number> = {};
    for (const [method, bits] of [['rtn', 8], ['rtn', 4], ['calib', 4]] as const) {
      const r = await calibrate(ctx, ckpt, images, count, { method, wbits: bits, abits: bits });
      errors[`${method}${bits}`] = relError(await logitsOf(FakeQuantModel.upload(ctx, { ...r.quantized, configText: CONFIG, info: INFO })), original);
    }
    expect(errors.rtn8).toBeLessThan(0.05);
    expect(errors.rtn4).toBeGreaterThan(errors.rtn8);
    expect(errors.calib4).toBeLessThan(errors.rtn4);
  });
});
