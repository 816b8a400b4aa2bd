/** FakeQuantModel (GPU) vs the float64 reference forward with the same quantizers applied. */
import { describe, expect, it } from 'vitest';
import { FakeQuantModel, dequantizedCheckpoint } from '../../src/quant/fake-quant-model.js';
import { attentionPerHeadRow, perTensor, perToken, qkvPerHeadChannel, qkvPerHeadToken } from '../../src/quant/views.js';
import { uniformTensor } from '../../src/util/prng.js';
import { testContext } from '../helpers/gpu.js';
import { randomQuantizedVit } from '../helpers/quantized-sample.js';
import { fakeQuantRef } from '../reference/fake-quant.js';
import { vitForwardRef } from '../reference/vit.js';

const CONFIG = JSON.stringify({ architecture: 'vit_tiny_patch4_8', model_args: { img_size: 8, patch_size: 4, in_chans: 1, embed_dim: 12, depth: 2, num_heads: 3, num_classes: 5 } });

describe('fake-quant model', () => {
  for (const [wbits, abits] of [[4, 4], [3, 3], [8, 8]]) {
    it(`W${wbits}A${abits} logits match the float64 reference with the same quantizers`, async () => {
      const q = randomQuantizedVit(CONFIG, { wbits, abits, seed: wbits * 10 + abits });
      const c = q.config;
      const batch = 3;
      const images = uniformTensor(4, 4, batch * c.inChans * c.imgSize * c.imgSize, 0, 1.5);
      const ctx = await testContext();
      const model = FakeQuantModel.upload(ctx, q);
      const input = ctx.upload(images, [batch, c.inChans, c.imgSize, c.imgSize], 'images');
      const got = await ctx.read(model.forward(input));
      const heads = c.numHeads;
      const hd = c.embedDim / heads;
      const act = (name: string) => {
        if (name === 'head.input') return q.head.input;
        const [, i, rest] = /^blocks\.(\d+)\.(.+)$/.exec(name) as RegExpExecArray;
        const b = q.blocks[Number(i)];
        return ({ 'attn.qkv.input': b.qkv.input, 'attn.proj.input': b.proj.input, 'mlp.fc1.input': b.fc1.input, 'mlp.fc2.input': b.fc2.input, 'attn.map': b.attn, 'attn.q': b.q, 'attn.k': b.k, 'attn.v': b.v } as Record<string, typeof b.q>)[rest];
      };
      const apply = (values: Float64Array, parts: [string, ReturnType<typeof perTensor>][]) => {
        // The GPU quantizes float32 tensors: round the float64 values first, as the GPU stores them.
        let v: Float32Array = Float32Array.from(values);
        for (const [name, view] of parts) {
          const a = act(name);
          v = fakeQuantRef(v, a.scale, a.zeroPoint, a.bits, view);
        }
        return Float64Array.from(v);
      };
      const ref = vitForwardRef(dequantizedCheckpoint(q), images, batch, (point, values, shape) => {
        if (point === 'head.input') return apply(values, [[point, perTensor(values.length)]]);
        const block = point.replace(/\.(attn|mlp)\..*$/, '');
        if (point.endsWith('attn.qkv.output')) {
          return apply(values, [
            [`${block}.attn.q`, qkvPerHeadToken(shape[0], shape[1], heads, hd, 0)],
            [`${block}.attn.k`, qkvPerHeadToken(shape[0], shape[1], heads, hd, 1)],
            [`${block}.attn.v`, qkvPerHeadChannel(shape[0], shape[1], heads, hd)],
          ]);
        }
        if (point.endsWith('attn.map')) return apply(values, [[point, attentionPerHeadRow(shape[0], heads, shape[2])]]);
        return apply(values, [[point, perToken(shape[0], shape[1], shape[2])]]);
      });
      let err = 0;
      let scale = 0;
      for (let i = 0; i < ref.length; i++) {
        err = Math.max(err, Math.abs(got[i] - ref[i]));
        scale = Math.max(scale, Math.abs(ref[i]));
      }
      expect(err / scale).toBeLessThan(1e-4);
      // The quantizers must actually change the result relative to the float forward.
      const float = vitForwardRef(dequantizedCheckpoint(q), images, batch);
      let diff = 0;
      for (let i = 0; i < ref.length; i++) diff = Math.max(diff, Math.abs(float[i] - ref[i]));
      expect(diff / scale).toBeGreaterThan(1e-3);
      model.release();
      input.release();
    });
  }
});
