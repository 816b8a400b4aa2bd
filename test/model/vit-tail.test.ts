/**
 * The float tail (later blocks and the head) and its backward on a small random ViT: logits equal
 * the float64 reference, and the token gradient matches central differences of the float64
 * reference along random directions and single coordinates.
 */
import { describe, expect, it } from 'vitest';
import { VitModel } from '../../src/model/vit.js';
import { VitTail } from '../../src/model/vit-tail.js';
import { uniformTensor } from '../../src/util/prng.js';
import { expectClose, testContext } from '../helpers/gpu.js';
import { randomVitCheckpoint } from '../helpers/random-vit.js';
import { vitTailRef } from '../reference/vit.js';

const CONFIG = JSON.stringify({ architecture: 'vit_tiny_patch4_12', model_args: { img_size: 12, patch_size: 4, in_chans: 1, embed_dim: 16, depth: 2, num_heads: 2, num_classes: 6 } });
const ckpt = randomVitCheckpoint(CONFIG, 31);
const c = ckpt.config;
const batch = 3;

describe('VitTail', () => {
  for (const first of [0, 1, 2]) {
    it(`from block ${first}${first === c.depth ? ' (the head alone)' : ''}`, async () => {
      const ctx = await testContext();
      const model = VitModel.upload(ctx, ckpt);
      const n = batch * c.numTokens * c.embedDim;
      const tokens = uniformTensor(40, first, n, 0, 1.5);
      const weights = uniformTensor(41, first, batch * c.numClasses, 0, 1);
      const tokensT = ctx.upload(tokens, [batch, c.numTokens, c.embedDim], 'tokens');
      const tail = new VitTail(model, first);
      const logits = tail.forward(tokensT);
      expectClose(await ctx.read(logits), vitTailRef(ckpt, tokens, batch, first), 1e-5, 1e-4, 'logits');
      // Loss L = Σ weights · logits, so dL/dlogits = weights.
      const dLogits = ctx.upload(weights, logits.shape, 'dlogits');
      const dTokensT = tail.backward(dLogits);
      const dTokens = await ctx.read(dTokensT);
      const loss = (x: Float64Array) => vitTailRef(ckpt, x, batch, first).reduce((acc, v, i) => acc + v * weights[i], 0);
      const h = 1e-5;
      const directional = (dir: Float64Array) => {
        const plus = Float64Array.from(tokens, (v, i) => v + h * dir[i]);
        const minus = Float64Array.from(tokens, (v, i) => v - h * dir[i]);
        return (loss(plus) - loss(minus)) / (2 * h);
      };
      let scale = 0;
      for (const v of dTokens) scale = Math.max(scale, Math.abs(v));
      expect(scale).toBeGreaterThan(0);
      for (let k = 0; k < 3; k++) {
        const dir = Float64Array.from(uniformTensor(42, 10 * first + k, n, 0, 1));
        const got = dTokens.reduce((acc, v, i) => acc + v * dir[i], 0);
        expectClose([got], [directional(dir)], 1e-4 * scale, 1e-4, `direction ${k}`);
      }
      // Single coordinates: the class token (where the head reads) and a patch token.
      for (const i of [0, 5, c.embedDim * 2 + 3, n - 1]) {
        const dir = new Float64Array(n);
        dir[i] = 1;
        expectClose([dTokens[i]], [directional(dir)], 1e-5 * scale, 1e-3, `coordinate ${i}`);
      }
      for (const t of [tokensT, logits, dLogits, dTokensT]) t.release();
      model.release();
    });
  }
});
