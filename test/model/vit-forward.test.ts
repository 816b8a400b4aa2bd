import { describe, expect, it } from 'vitest';
import { VitModel } from '../../src/model/vit.js';
import { uniformTensor } from '../../src/util/prng.js';
import { expectClose, testContext } from '../helpers/gpu.js';
import { randomVitCheckpoint } from '../helpers/random-vit.js';
import { vitForwardRef } from '../reference/vit.js';

const configs = [
  { architecture: 'vit_tiny_patch4_8', model_args: { img_size: 8, patch_size: 4, in_chans: 3, embed_dim: 12, depth: 2, num_heads: 3, num_classes: 5 } },
  { architecture: 'deit_tiny_patch4_28', model_args: { img_size: 28, patch_size: 4, in_chans: 1, embed_dim: 16, depth: 1, num_heads: 2, num_classes: 10 } },
  { architecture: 'vit_small_patch3_9', model_args: { img_size: 9, patch_size: 3, in_chans: 3, embed_dim: 14, depth: 3, num_heads: 7, num_classes: 3, mlp_ratio: 2 } },
];

describe('ViT forward on the GPU vs float64 reference', () => {
  configs.forEach((cfg, k) => {
    it(`${cfg.architecture} ${JSON.stringify(cfg.model_args)}`, async () => {
      const ctx = await testContext();
      const ckpt = randomVitCheckpoint(JSON.stringify(cfg), 11 + k);
      const c = ckpt.config;
      const batch = 3;
      const images = uniformTensor(99, k, batch * c.inChans * c.imgSize * c.imgSize, 0, 1.5);
      const model = VitModel.upload(ctx, ckpt);
      const imgT = ctx.upload(images, [batch, c.inChans, c.imgSize, c.imgSize], 'images');
      const logits = model.forward(imgT);
      expectClose(await ctx.read(logits), vitForwardRef(ckpt, images, batch), 2e-5, 2e-4, 'logits');
      logits.release();
      imgT.release();
      model.release();
    });
  });
});

describe('forward hooks', () => {
  it('visit every quantization point in order and can replace tensors', async () => {
    const ctx = await testContext();
    const ckpt = randomVitCheckpoint(JSON.stringify(configs[0]), 3);
    const c = ckpt.config;
    const model = VitModel.upload(ctx, ckpt);
    const images = ctx.upload(uniformTensor(1, 2, 2 * c.inChans * c.imgSize * c.imgSize, 0, 1), [2, c.inChans, c.imgSize, c.imgSize], 'images');
    const seen: string[] = [];
    const logits = model.forward(images, {
      activation(point, t) {
        seen.push(`${point} [${t.shape}]`);
        // Replace the head input by zeros: the logits must then equal the head bias.
        return point === 'head.input' ? ctx.upload(new Float32Array(t.size), t.shape, 'zeros') : t;
      },
    });
    const T = c.numTokens;
    const D = c.embedDim;
    const perBlock = (i: number) => [
      `blocks.${i}.attn.qkv.input [2,${T},${D}]`,
      `blocks.${i}.attn.qkv.output [2,${T},${3 * D}]`,
      `blocks.${i}.attn.map [2,${c.numHeads},${T},${T}]`,
      `blocks.${i}.attn.proj.input [2,${T},${D}]`,
      `blocks.${i}.mlp.fc1.input [2,${T},${D}]`,
      `blocks.${i}.mlp.fc2.input [2,${T},${c.mlpHidden}]`,
    ];
    expect(seen).toEqual([...perBlock(0), ...perBlock(1), `head.input [2,${D}]`]);
    const bias = ckpt.weights.get('head.bias') as Float32Array;
    expectClose(await ctx.read(logits), [...bias, ...bias], 0, 0, 'logits of a zero head input');
    logits.release();
    images.release();
    model.release();
  });
});
