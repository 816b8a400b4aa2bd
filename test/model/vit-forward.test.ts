import { describe, it } from 'vitest';
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
