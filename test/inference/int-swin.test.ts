/**
 * The Swin integer pipeline against the fake-quant evaluation of the same quantized Swin (min/max
 * quantizers of a random Swin whose grids pad to whole windows, shifted and unshifted blocks, patch
 * merging): both use the same codes, scales and zero-points, so they differ only in float rounding,
 * and where such a rounding moves a value across a quantizer's rounding boundary. With calibrated
 * quantizers (most values inside the range, unlike random ones) that happens in some images: one
 * code of an 8-bit activation moved by a last-bit difference. So the test asks the per-image
 * difference to be at rounding level in most images, and the classes to agree.
 */
import { describe, expect, it } from 'vitest';
import { uploadIntModel } from '../../src/inference/int-model.js';
import { calibrateSwin } from '../../src/quant/calibrate-swin.js';
import { FakeQuantModel } from '../../src/quant/fake-quant-model.js';
import type { QuantizedSwin } from '../../src/quant/quantized-model.js';
import { uniformTensor } from '../../src/util/prng.js';
import { portableTestContext, testContext } from '../helpers/gpu.js';
import { randomSwinCheckpoint } from '../helpers/random-vit.js';

// 20x20 in patches of 2: a 10x10 grid in windows of 4 (padded to 12x12, shift 2), then 5x5 (padded to 8x8).
const CONFIG = JSON.stringify({
  architecture: 'swin_tiny_patch4_window7_224',
  model_args: { img_size: 20, patch_size: 2, window_size: 4, in_chans: 2, num_classes: 7, embed_dim: 12, depths: [2, 2], num_heads: [2, 3] },
  pretrained_cfg: { mean: [0.5, 0.5], std: [0.5, 0.5] },
});
const ckpt = randomSwinCheckpoint(CONFIG, 41);
const c = ckpt.config;
const INFO = { method: 'rtn', seed: 0, calibSize: 6, calibData: 'random', toolVersion: 'test' };

/** Per image: the largest |int - fake| relative to the image's largest |fake| logit. */
function imageErrors(got: Float32Array, ref: Float32Array, classes: number): number[] {
  return Array.from({ length: ref.length / classes }, (_, b) => {
    let err = 0;
    let scale = 0;
    for (let i = b * classes; i < (b + 1) * classes; i++) {
      err = Math.max(err, Math.abs(got[i]! - ref[i]!));
      scale = Math.max(scale, Math.abs(ref[i]!));
    }
    return err / scale;
  });
}

const argmax = (x: Float32Array, b: number, classes: number) => {
  let best = 0;
  for (let k = 1; k < classes; k++) if (x[b * classes + k]! > x[b * classes + best]!) best = k;
  return best;
};

describe('Swin integer pipeline', () => {
  for (const [name, context] of [['dot4U8Packed', testContext], ['portable', portableTestContext]] as const) {
    for (const bits of [4, 3, 8]) {
      it(`W${bits}A${bits} logits agree with the fake-quant evaluation (${name})`, async () => {
        const ctx = await context();
        const images = uniformTensor(5, bits, 6 * c.inChans * c.imgSize ** 2, 0, 1.5);
        const r = await calibrateSwin(ctx, ckpt, images, 6, { method: 'rtn', wbits: bits, abits: bits });
        const q: QuantizedSwin = { ...r.quantized, configText: CONFIG, info: { ...INFO, wbits: bits, abits: bits } };
        const batch = 16;
        const test = uniformTensor(6, bits, batch * c.inChans * c.imgSize ** 2, 0, 1.5);
        const input = ctx.upload(test, [batch, c.inChans, c.imgSize, c.imgSize], 'images');
        const intModel = uploadIntModel(ctx, q);
        const fakeModel = FakeQuantModel.upload(ctx, q);
        const int = await ctx.read(intModel.forward(input));
        const fake = await ctx.read(fakeModel.forward(input));
        intModel.release();
        fakeModel.release();
        input.release();
        const errors = imageErrors(int, fake, c.numClasses).sort((a, b) => a - b);
        process.stderr.write(`W${bits}A${bits} ${name}: per-image relative logit difference median ${errors[batch / 2]!.toExponential(1)}, max ${errors[batch - 1]!.toExponential(1)}\n`);
        expect(errors[batch / 2]).toBeLessThan(1e-5);
        let agree = 0;
        for (let b = 0; b < batch; b++) if (argmax(int, b, c.numClasses) === argmax(fake, b, c.numClasses)) agree++;
        expect(agree).toBeGreaterThanOrEqual(batch - 1);
      });
    }
  }
});
