/**
 * Milliseconds per forward of a classifier at a batch size, as an application sees it: images
 * uploaded and logits read back each time, after `warmup` untimed forwards (pipeline compilation,
 * buffer pool). Shared by the browser entry and the Node benchmarks.
 */
import type { Classifier } from '../model/classifier.js';

export async function timeForwardMs(model: Classifier, images: Float32Array, batch: number, repeats: number, warmup = 1): Promise<number[]> {
  const ctx = model.ctx;
  const once = async () => {
    const input = ctx.upload(images, [batch, ...model.inputShape], 'images');
    const logits = model.forward(input);
    await ctx.read(logits);
    logits.release();
    input.release();
  };
  for (let i = 0; i < warmup; i++) await once();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await once();
    times.push(performance.now() - t0);
  }
  return times;
}
