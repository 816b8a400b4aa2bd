/**
 * The integer pipeline against the fake-quant evaluation of the same quantized model: both use the
 * same codes, scales and zero-points, so they differ only in float rounding (and, rarely, in a
 * code that such a rounding moves across a rounding boundary).
 */
import { describe, expect, it } from 'vitest';
import { IntVit } from '../../src/inference/int-vit.js';
import { timeForwardMs } from '../../src/inference/time-forward.js';
import { FakeQuantModel } from '../../src/quant/fake-quant-model.js';
import type { QuantizedVit } from '../../src/quant/quantized-model.js';
import type { GpuContext } from '../../src/runtime/context.js';
import { uniformTensor } from '../../src/util/prng.js';
import { maxRelativeError, portableTestContext, testContext } from '../helpers/gpu.js';
import { randomQuantizedVit } from '../helpers/quantized-sample.js';

// 5 tokens and head width 6: neither is a multiple of the 4 codes of a packed word.
const CONFIG = JSON.stringify({ architecture: 'vit_tiny_patch4_8', model_args: { img_size: 8, patch_size: 4, in_chans: 2, embed_dim: 18, depth: 2, num_heads: 3, num_classes: 7 } });

async function logitsOf(ctx: GpuContext, q: QuantizedVit, images: Float32Array, batch: number): Promise<{ int: Float32Array; fake: Float32Array }> {
  const c = q.config;
  const input = ctx.upload(images, [batch, c.inChans, c.imgSize, c.imgSize], 'images');
  const intModel = IntVit.upload(ctx, q);
  const fakeModel = FakeQuantModel.upload(ctx, q);
  const int = await ctx.read(intModel.forward(input));
  const fake = await ctx.read(fakeModel.forward(input));
  intModel.release();
  fakeModel.release();
  input.release();
  return { int, fake };
}

describe('integer pipeline', () => {
  for (const [name, context] of [['dot4U8Packed', testContext], ['portable', portableTestContext]] as const) {
    for (const [wbits, abits] of [[4, 4], [3, 3], [8, 8], [2, 4]]) {
      it(`W${wbits}A${abits} logits equal the fake-quant evaluation (${name})`, async () => {
        const q = randomQuantizedVit(CONFIG, { wbits, abits, seed: 100 + wbits * 10 + abits });
        const batch = 3;
        const c = q.config;
        const images = uniformTensor(9, wbits, batch * c.inChans * c.imgSize * c.imgSize, 0, 1.5);
        const { int, fake } = await logitsOf(await context(), q, images, batch);
        expect(maxRelativeError(int, fake)).toBeLessThan(1e-4);
      });
    }
  }

  it('timeForwardMs times whole forwards after the warm-up, which leaves nothing to allocate', async () => {
    const ctx = await testContext();
    const q = randomQuantizedVit(CONFIG, { wbits: 4, abits: 4, seed: 8 });
    const c = q.config;
    const model = IntVit.upload(ctx, q);
    const images = uniformTensor(3, 4, 2 * c.inChans * c.imgSize * c.imgSize, 0, 1);
    await timeForwardMs(model, images, 2, 0, 1);
    const created = ctx.buffersCreated;
    const readbacks = ctx.stats.readbacks;
    const times = await timeForwardMs(model, images, 2, 3, 0);
    expect(times).toHaveLength(3);
    for (const t of times) expect(t).toBeGreaterThan(0);
    expect(ctx.stats.readbacks - readbacks).toBe(3);
    expect(ctx.buffersCreated).toBe(created);
    model.release();
  });

  it('a second forward at the same batch size creates no buffers', async () => {
    const ctx = await testContext();
    const q = randomQuantizedVit(CONFIG, { wbits: 4, abits: 4, seed: 7 });
    const c = q.config;
    const model = IntVit.upload(ctx, q);
    const input = ctx.upload(uniformTensor(3, 3, 2 * c.inChans * c.imgSize * c.imgSize, 0, 1), [2, c.inChans, c.imgSize, c.imgSize], 'images');
    const first = await ctx.read(model.forward(input));
    const created = ctx.buffersCreated;
    const dispatches = ctx.stats.dispatches;
    const out = model.forward(input);
    const perForward = ctx.stats.dispatches - dispatches;
    const second = await ctx.read(out);
    out.release();
    expect(ctx.buffersCreated).toBe(created);
    // 3 for the patch embedding, 19 per block (GELU is fused into a quantizer), 4 for the head.
    expect(perForward).toBe(3 + 19 * c.depth + 4);
    expect(second).toEqual(first);
    model.release();
    input.release();
  });
});
