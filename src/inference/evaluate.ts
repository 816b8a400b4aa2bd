/**
 * Top-1 / top-5 evaluation of any classifier that maps an image batch on the GPU to logits.
 * The next batch is decoded on the CPU while the GPU runs the current one.
 */
import type { Batch, Dataset } from '../data/dataset.js';
import type { GpuContext, Tensor } from '../runtime/context.js';
import { klDivergence } from '../util/kl.js';

export interface Classifier {
  readonly ctx: GpuContext;
  /** [channels, height, width] of one input image. */
  readonly inputShape: readonly [number, number, number];
  readonly numClasses: number;
  forward(images: Tensor): Tensor;
}

export interface EvalOptions {
  limit?: number;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
  /** Keep every image's logits (for comparisons between engines). */
  keepLogits?: boolean;
}

export interface EvalResult {
  count: number;
  top1: number;
  top5: number | null;
  predictions: Int32Array;
  labels: Int32Array;
  logits: Float32Array | null;
  seconds: number;
}

/** Ranks of the true label among the logits: 0 means top-1. */
function rankOf(logits: Float32Array, offset: number, classes: number, label: number): number {
  const v = logits[offset + label];
  let rank = 0;
  for (let c = 0; c < classes; c++) {
    const o = logits[offset + c];
    if (o > v || (o === v && c < label)) rank++;
  }
  return rank;
}

export async function evaluate(model: Classifier, data: Dataset, options: EvalOptions = {}): Promise<EvalResult> {
  const count = Math.min(options.limit ?? data.count, data.count);
  const batchSize = Math.max(1, options.batchSize ?? 64);
  const classes = model.numClasses;
  const predictions = new Int32Array(count);
  const labels = new Int32Array(count);
  const logitsAll = options.keepLogits ? new Float32Array(count * classes) : null;
  let top1 = 0;
  let top5 = 0;
  const start = performance.now();
  const indices = (from: number) => Array.from({ length: Math.min(batchSize, count - from) }, (_, i) => from + i);
  let pending: Promise<Batch> | null = count > 0 ? data.batch(indices(0)) : null;
  for (let from = 0; from < count; from += batchSize) {
    if (!pending) break;
    const batch = await pending;
    const b = batch.labels.length;
    pending = from + b < count ? data.batch(indices(from + b)) : null;
    const images = model.ctx.upload(batch.pixels, [b, ...model.inputShape], 'images');
    const logitsT = model.forward(images);
    const logits = await model.ctx.read(logitsT);
    logitsT.release();
    images.release();
    for (let i = 0; i < b; i++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (logits[i * classes + c] > logits[i * classes + best]) best = c;
      predictions[from + i] = best;
      labels[from + i] = batch.labels[i];
      if (batch.labels[i] >= 0) {
        const rank = rankOf(logits, i * classes, classes, batch.labels[i]);
        if (rank === 0) top1++;
        if (rank < 5) top5++;
      }
    }
    logitsAll?.set(logits.subarray(0, b * classes), from * classes);
    options.onProgress?.(from + b, count);
  }
  const labelled = labels.filter((l) => l >= 0).length;
  return {
    count,
    top1: labelled > 0 ? top1 / labelled : NaN,
    top5: labelled > 0 && classes > 5 ? top5 / labelled : null,
    predictions,
    labels,
    logits: logitsAll,
    seconds: (performance.now() - start) / 1000,
  };
}

/** Share of images whose top-1 class two evaluations of the same images agree on. */
export function top1Agreement(a: EvalResult, b: EvalResult): number {
  let same = 0;
  for (let i = 0; i < a.count; i++) if (a.predictions[i] === b.predictions[i]) same++;
  return same / a.count;
}

/**
 * How far a model's predictions are from a reference model's on the same images: the mean over
 * images of KL(softmax(reference) || softmax(other)) in nats, and their top-1 agreement. A finer
 * measure than top-1 of how closely a quantized model follows the float one.
 */
export function fidelityTo(reference: EvalResult, other: EvalResult, classes: number): { kl: number; agreement: number } {
  const p = reference.logits;
  const q = other.logits;
  if (!p || !q || reference.count !== other.count) throw new Error('fidelityTo: both evaluations need keepLogits over the same images');
  let kl = 0;
  for (let i = 0; i < reference.count; i++) kl += klDivergence(p.subarray(i * classes, (i + 1) * classes), q.subarray(i * classes, (i + 1) * classes));
  return { kl: kl / reference.count, agreement: top1Agreement(reference, other) };
}
