/**
 * Top-1 / top-5 evaluation of any classifier that maps an image batch on the GPU to logits.
 * The next batch is decoded on the CPU while the GPU runs the current one.
 */
import type { Batch, Dataset } from '../data/dataset.js';
import type { Classifier } from '../model/classifier.js';
import { FimaqError } from '../util/errors.js';
import { klDivergence } from '../util/kl.js';

export interface EvalOptions {
  limit?: number;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
  /** Keep every image's logits (for comparisons between engines). */
  keepLogits?: boolean;
  /** Checked before each batch. */
  signal?: AbortSignal;
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

/**
 * Refuses data that would give a meaningless score: no images, missing labels, or labels outside
 * the model's classes (which no logit could match, or which would read past an image's logits).
 * Checked up front, before any image is decoded or run.
 */
function checkLabels(data: Dataset, count: number, classes: number): void {
  if (count === 0) throw new FimaqError(`${data.description} has no images; evaluation needs at least one labelled image`);
  let unlabelled = -1;
  let labelled = false;
  for (let i = 0; i < count; i++) {
    const label = data.label(i);
    if (label === -1) {
      if (unlabelled < 0) unlabelled = i;
    } else if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new FimaqError(`label ${label} of image ${i} of ${data.description} is outside the model's ${classes} classes (0..${classes - 1})`);
    } else {
      labelled = true;
    }
  }
  if (!labelled) throw new FimaqError(`${data.description} has no labels; evaluation needs labelled images (class folders or IDX labels)`);
  if (unlabelled >= 0) {
    throw new FimaqError(`image ${unlabelled} of ${data.description} has no label; evaluation needs every image labelled (class folders or IDX labels)`);
  }
}

export async function evaluate(model: Classifier, data: Dataset, options: EvalOptions = {}): Promise<EvalResult> {
  const count = Math.min(options.limit ?? data.count, data.count);
  const batchSize = Math.max(1, options.batchSize ?? 64);
  const classes = model.numClasses;
  checkLabels(data, count, classes);
  const predictions = new Int32Array(count);
  const labels = new Int32Array(count);
  const logitsAll = options.keepLogits ? new Float32Array(count * classes) : null;
  let top1 = 0;
  let top5 = 0;
  const start = performance.now();
  const indices = (from: number) => Array.from({ length: Math.min(batchSize, count - from) }, (_, i) => from + i);
  let pending: Promise<Batch> | null = count > 0 ? data.batch(indices(0)) : null;
  for (let from = 0; from < count; from += batchSize) {
    options.signal?.throwIfAborted();
    if (!pending) break;
    const batch = await pending;
    const b = batch.labels.length;
    pending = from + b < count ? data.batch(indices(from + b)) : null;
    // Marked handled: if this batch fails first, the next one's own error must not crash the process unhandled.
    pending?.catch(() => {});
    const images = model.ctx.upload(batch.pixels, [b, ...model.inputShape], 'images');
    const logitsT = model.forward(images);
    const logits = await model.ctx.read(logitsT);
    logitsT.release();
    images.release();
    // Comparisons with NaN are false, so a NaN row would rank every label first.
    for (let j = 0; j < b * classes; j++) {
      if (!Number.isFinite(logits[j])) {
        const image = from + Math.floor(j / classes);
        throw new FimaqError(`model output for image ${image} of ${data.description} is ${logits[j]}: the model produced non-finite logits`);
      }
    }
    for (let i = 0; i < b; i++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (logits[i * classes + c] > logits[i * classes + best]) best = c;
      predictions[from + i] = best;
      labels[from + i] = batch.labels[i];
      const rank = rankOf(logits, i * classes, classes, batch.labels[i]);
      if (rank === 0) top1++;
      if (rank < 5) top5++;
    }
    logitsAll?.set(logits.subarray(0, b * classes), from * classes);
    options.onProgress?.(from + b, count);
  }
  return {
    count,
    top1: top1 / count,
    top5: classes > 5 ? top5 / count : null,
    predictions,
    labels,
    logits: logitsAll,
    seconds: (performance.now() - start) / 1000,
  };
}

/** Share of images whose top-1 class two evaluations of the same images agree on. */
export function top1Agreement(a: EvalResult, b: EvalResult): number {
  if (a.count === 0 || a.count !== b.count) throw new Error(`top1Agreement: needs two evaluations of the same images, got ${a.count} and ${b.count}`);
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
