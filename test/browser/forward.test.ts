/** The same forward and preprocessing in headless Chromium (navigator.gpu) and in Node (Dawn). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preprocess, type PreprocessConfig } from '../../src/data/preprocess.js';
import { IntVit } from '../../src/inference/int-vit.js';
import { serializeQuantizedModel } from '../../src/io/quantized-file.js';
import { checkpointToSafetensors } from '../../src/io/checkpoint-file.js';
import { VitModel } from '../../src/model/vit.js';
import { uniformTensor, uniforms } from '../../src/util/prng.js';
import { openEnginePage, type BrowserSession } from '../helpers/browser.js';
import { expectClose, testContext } from '../helpers/gpu.js';
import { randomQuantizedVit } from '../helpers/quantized-sample.js';
import { randomVitCheckpoint } from '../helpers/random-vit.js';

const CONFIG = JSON.stringify({
  architecture: 'vit_tiny_patch4_16',
  model_args: { img_size: 16, patch_size: 4, in_chans: 3, embed_dim: 24, depth: 2, num_heads: 3, num_classes: 7 },
});

describe('headless Chromium', () => {
  let session: BrowserSession;
  beforeAll(async () => {
    session = await openEnginePage();
  }, 180_000);
  afterAll(async () => {
    await session?.close();
  });

  it('gives the same logits as Node for the same checkpoint and images', async () => {
    const ckpt = randomVitCheckpoint(CONFIG, 5);
    const bytes = checkpointToSafetensors(ckpt);
    const count = 4;
    const images = uniformTensor(3, 1, count * 3 * 16 * 16, 0, 1.5);

    const ctx = await testContext();
    const model = VitModel.upload(ctx, ckpt);
    const input = ctx.upload(images, [count, 3, 16, 16], 'images');
    const nodeLogits = await ctx.read(model.forward(input));
    model.release();

    const result = await session.page.evaluate(
      async (configText: string, st: number[], img: number[], n: number) => {
        const api = (window as unknown as { fimaq: typeof import('../../src/browser/engine.js') }).fimaq;
        const r = await api.run({ kind: 'float', configText, safetensors: new Uint8Array(st) }, new Float32Array(img), n);
        return { logits: Array.from(r.logits), adapter: r.adapter };
      },
      CONFIG, Array.from(bytes), Array.from(images), count,
    );
    console.log(`browser adapter: ${JSON.stringify(result.adapter)}`);
    expect(result.logits).toHaveLength(count * 7);
    expectClose(result.logits, nodeLogits, 1e-6, 1e-5, 'browser vs node logits');
  });

  it('runs the integer pipeline on a quantized file with the same logits as Node', async () => {
    const q = randomQuantizedVit(CONFIG, { wbits: 3, abits: 4, seed: 11 });
    const bytes = serializeQuantizedModel(q);
    const count = 3;
    const images = uniformTensor(3, 2, count * 3 * 16 * 16, 0, 1.5);
    const ctx = await testContext();
    const model = IntVit.upload(ctx, q);
    const nodeLogits = await ctx.read(model.forward(ctx.upload(images, [count, 3, 16, 16], 'images')));
    model.release();
    const result = await session.page.evaluate(
      async (file: number[], img: number[], n: number) => {
        const api = (window as unknown as { fimaq: typeof import('../../src/browser/engine.js') }).fimaq;
        const r = await api.run({ kind: 'int', quantized: new Uint8Array(file) }, new Float32Array(img), n);
        return Array.from(r.logits);
      },
      Array.from(bytes), Array.from(images), count,
    );
    expectClose(result, nodeLogits, 1e-6, 1e-5, 'browser vs node integer logits');
  });

  it('preprocesses an image to the same tensor as Node', async () => {
    const width = 40;
    const height = 30;
    const data = Uint8Array.from(uniforms(8, 2, width * height * 3), (u) => Math.floor(u * 256));
    const cfg: PreprocessConfig = { inputSize: [3, 16, 16], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], interpolation: 'bicubic', cropPct: 0.875 };
    const nodeTensor = preprocess({ width, height, channels: 3, data }, cfg);
    const browserTensor = (await session.page.evaluate(
      (w: number, h: number, px: number[], c: PreprocessConfig) => {
        const api = (window as unknown as { fimaq: typeof import('../../src/browser/engine.js') }).fimaq;
        return Array.from(api.preprocessImage({ width: w, height: h, channels: 3, data: new Uint8Array(px) }, c));
      },
      width, height, Array.from(data), cfg,
    )) as number[];
    expectClose(browserTensor, nodeTensor, 0, 0, 'browser vs node preprocessing');
  });
});
