/**
 * Calibration of a small random Swin whose grids pad to whole windows: RepQ-ViT (qkv, fc1 and the
 * patch merging's reduction) keeps the float function, the quantizers have the method's Swin
 * shapes (token scales per window position for attention, per grid position for the MLP, one
 * scale for the reduction and head inputs), files round-trip, 8 bits stay close to float.
 */
import { describe, expect, it } from 'vitest';
import { parseQuantizedModel, serializeQuantizedModel } from '../../src/io/quantized-file.js';
import { SwinModel } from '../../src/model/swin.js';
import { calibrateSwin } from '../../src/quant/calibrate-swin.js';
import { FakeQuantModel } from '../../src/quant/fake-quant-model.js';
import { type QuantizedSwin, modelQuantizers } from '../../src/quant/quantized-model.js';
import { uniformTensor } from '../../src/util/prng.js';
import { logitsAndRelease, maxRelativeError, testContext } from '../helpers/gpu.js';
import { randomSwinCheckpoint } from '../helpers/random-vit.js';

const INFO = { method: 'test', wbits: 0, abits: 0, seed: 1, calibSize: 6, calibData: 'random', toolVersion: 'test' };
// 20x20 in patches of 2: a 10x10 grid in windows of 4 (padded to 12x12, 9 windows, shift 2), then 5x5 (padded to 8x8).
const CONFIG = JSON.stringify({
  architecture: 'swin_tiny_patch4_window7_224',
  model_args: { img_size: 20, patch_size: 2, window_size: 4, in_chans: 1, num_classes: 5, embed_dim: 8, depths: [2, 1], num_heads: [2, 2] },
});
const ckpt = randomSwinCheckpoint(CONFIG, 31);
const c = ckpt.config;
const count = 6;
const images = uniformTensor(9, 9, count * c.inChans * c.imgSize * c.imgSize, 0, 1.5);

describe('calibrateSwin', () => {
  it('calib W4A4: RepQ-ViT keeps the float function, Swin quantizer shapes, the file round-trips', async () => {
    const ctx = await testContext();
    const r = await calibrateSwin(ctx, ckpt, images, count, { method: 'calib', wbits: 4, abits: 4, eqN: 32, rounds: 1, batchSize: 4 });
    const original = await logitsAndRelease(SwinModel.upload(ctx, ckpt), images, count);
    // The folding rewrites the reduction's LayerNorm and gives the reduction a bias.
    expect(r.reparameterized.get('layers.1.downsample.norm.weight')).not.toEqual(ckpt.weights.get('layers.1.downsample.norm.weight'));
    expect(r.reparameterized.get('layers.1.downsample.reduction.bias')!.some((v) => v !== 0)).toBe(true);
    expect(r.reparameterized.get('layers.0.blocks.0.norm2.weight')).not.toEqual(ckpt.weights.get('layers.0.blocks.0.norm2.weight'));
    // Both stages pad their windows: qkv's input stays unfolded, or the padding rows would change.
    expect(r.reparameterized.get('layers.0.blocks.0.norm1.weight')).toEqual(ckpt.weights.get('layers.0.blocks.0.norm1.weight'));
    const folded = await logitsAndRelease(SwinModel.upload(ctx, { ...ckpt, weights: r.reparameterized }), images, count);
    expect(maxRelativeError(folded, original)).toBeLessThan(1e-5);

    const q: QuantizedSwin = { ...r.quantized, configText: CONFIG, info: { ...INFO, method: 'calib', wbits: 4, abits: 4 } };
    const { activations } = modelQuantizers(q);
    expect(activations.get('layers.0.blocks.1.attn.qkv.input')!.scaleShape).toEqual([16]);
    expect(activations.get('layers.0.blocks.1.attn.q')!.scaleShape).toEqual([2, 16]);
    expect(activations.get('layers.0.blocks.1.attn.v')!.scaleShape).toEqual([2, 4]);
    expect(activations.get('layers.0.blocks.1.mlp.fc1.input')!.scaleShape).toEqual([100]);
    expect(activations.get('layers.1.blocks.0.mlp.fc2.input')!.scaleShape).toEqual([25]);
    expect(activations.get('layers.1.downsample.reduction.input')!.scaleShape).toEqual([1]);
    expect(activations.get('head.input')!.scaleShape).toEqual([1]);
    const file = serializeQuantizedModel(q);
    const back = parseQuantizedModel(file, 'swin.safetensors');
    expect(back.config.family).toBe('swin');
    expect(serializeQuantizedModel(back)).toEqual(file);
    const quantized = await logitsAndRelease(FakeQuantModel.upload(ctx, back), images, count);
    expect(quantized.every(Number.isFinite)).toBe(true);
    expect(maxRelativeError(quantized, original)).toBeGreaterThan(1e-3);
    expect(maxRelativeError(quantized, original)).toBeLessThan(1);
  });

  it('rtn at 8 bits stays close to float; at 4 bits the calibration search beats rtn', async () => {
    const ctx = await testContext();
    const original = await logitsAndRelease(SwinModel.upload(ctx, ckpt), images, count);
    const errors: Record<string, number> = {};
    for (const [method, bits] of [['rtn', 8], ['rtn', 4], ['calib', 4]] as const) {
      const r = await calibrateSwin(ctx, ckpt, images, count, { method, wbits: bits, abits: bits, eqN: 32, rounds: 1 });
      errors[`${method}${bits}`] = maxRelativeError(await logitsAndRelease(FakeQuantModel.upload(ctx, { ...r.quantized, configText: CONFIG, info: INFO }), images, count), original);
    }
    expect(errors.rtn8).toBeLessThan(0.05);
    expect(errors.rtn4).toBeGreaterThan(errors.rtn8);
    expect(errors.calib4).toBeLessThan(errors.rtn4);
  });
});
