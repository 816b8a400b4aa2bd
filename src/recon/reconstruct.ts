/**
 * Stage B of the method (../shared/docs/fimaq-method.md §5): block-wise reconstruction. Units run
 * in the method's order (patch embedding, each block, the head). For each unit the scheduler
 * caches on the GPU the float inputs and outputs of the whole calibration set and the inputs the
 * already-quantized prefix produces, then records `iters` optimisation steps: minibatch drawn on
 * the GPU from the seed, QDrop mixing of the inputs, the unit's forward, the loss and its gradient,
 * the unit's backward and Adam steps. Nothing is read back except the loss every `reportEvery`
 * steps. The finished unit is hard-rounded and written into the QuantizedVit, which then
 * produces the next unit's quantized inputs by fake-quant evaluation.
 */
import { type ModelCheckpoint, isSwinCheckpoint } from '../model/checkpoint.js';
import { SwinModel } from '../model/swin.js';
import { VitModel } from '../model/vit.js';
import { qdropMix } from '../ops/qdrop-mix.js';
import { randomUniform } from '../ops/random-uniform.js';
import { sampleIndices } from '../ops/sample-indices.js';
import type { GpuContext, Tensor } from '../runtime/context.js';
import { im2col } from '../quant/calibrate.js';
import { RowCache, forBatches } from '../quant/capture.js';
import { FakeQuantModel } from '../quant/fake-quant-model.js';
import type { QuantizedModel } from '../quant/quantized-model.js';
import { type ReconSettings, betaAt, keepThreshold, roundWeightAt, scaleLrAt } from './settings.js';
import { type EigenSummary, EigFisherLoss } from './eig-fisher.js';
import { BrecqLoss, type FisherMethod, FisherLoss, type FisherSettings, KlLoss, MseLoss, type SnapshotSummary, type UnitLoss, snapshotDue } from './losses.js';
import { type FloatModel, buildUnit, headInput, patchEmbedOutput, storeUnit, tailAfter, unitForward, unitNames } from './unit-graph.js';
import type { NoiseSource, ReconUnit } from './units.js';
import { FimaqError } from '../util/errors.js';
import { klDivergence } from '../util/kl.js';

export interface UnitReport {
  unit: string;
  /** Whole unit: data preparation, optimisation, hard rounding. */
  seconds: number;
  /** Wall-clock seconds per optimisation step (GPU work included). */
  secondsPerStep: number;
  /** (iteration, loss) pairs read back during the unit: the MSE relative to its first value, or the head's KL. */
  losses: [number, number][];
  /**
   * The unit's output error in the deployed form (hard rounding, every quantizer on, no QDrop)
   * against the float unit on the first HARD_ERROR_IMAGES calibration inputs from the quantized
   * prefix, before the unit's optimisation (nearest rounding, calibrated scales) and after:
   * ||ŷ − y||² / ||y||², and for the head its own loss, the mean KL(softmax(y) || softmax(ŷ)).
   * Soft-rounding training losses rise as β anneals; this one is comparable.
   */
  hardError: { before: number; after: number };
  /** The unit's Fisher snapshots (fimaq, diag-fim, lr-fim; not the head). */
  snapshots?: SnapshotSummary;
  /** eig-fim: the Fisher matrix's top eigenvalues and the share of its trace they hold (the unit's last refresh). */
  eigen?: EigenSummary;
}

/** Calibration inputs the hard-quantized unit error is measured on. */
export const HARD_ERROR_IMAGES = 128;

export interface ReconProgress {
  unit: string;
  unitIndex: number;
  units: number;
  iteration: number;
  iters: number;
  loss: number;
}

export type ReconMethod = 'mse' | 'brecq-fim' | 'eig-fim' | FisherMethod;

export interface ReconOptions {
  settings: ReconSettings;
  seed: number;
  /** The loss of every unit but the head (default mse; the head always uses KL on logits). */
  method?: ReconMethod;
  /** Fisher settings of the fimaq, diag-fim and lr-fim losses. */
  fisher?: FisherSettings;
  /** Units already reconstructed in `quantized` (resuming an interrupted run). */
  done?: number;
  onProgress?: (p: ReconProgress) => void;
  /** Largest cache chunk in bytes (default: the adapter's largest storage binding). */
  chunkBytes?: number;
  /** Called after each finished unit with the model so far, e.g. to write a checkpoint. */
  onUnitDone?: (quantized: QuantizedModel, done: number, report: UnitReport) => Promise<void>;
  /** Checked before every step: aborting stops the run there (finished units stay reported). */
  signal?: AbortSignal;
}

/** The RNG stream of (unit, iteration, slot): distinct for every draw of a run. */
function streamOf(unit: number, iteration: number, slot: number): number {
  return ((unit * 2 ** 20 + iteration) * 16 + slot) % 2 ** 32;
}
const INDEX_SLOT = 15;
const INPUT_MIX_SLOT = 14;
/** Fisher snapshots draw their QDrop noise from a seed of their own. */
const SNAPSHOT_SEED_MIX = 0x5f1a5eed;

/** Applies `fn` batch by batch to a cache and caches the results. */
function mapBatches(ctx: GpuContext, x: RowCache, batch: number, label: string, fn: (xb: Tensor) => Tensor, chunkBytes?: number): RowCache {
  let out: RowCache | null = null;
  for (let from = 0; from < x.count; from += batch) {
    const xb = x.slice(from, Math.min(batch, x.count - from), `${label}.in`);
    const y = fn(xb);
    out ??= new RowCache(ctx, x.count, y.shape.slice(1), label, chunkBytes);
    out.put(y, from);
    y.release();
    xb.release();
  }
  if (!out) throw new Error(`${label}: no rows`);
  return out;
}

/** Caches host rows [count, ...rowShape], uploading one batch at a time. */
function uploadRows(ctx: GpuContext, count: number, rowShape: number[], batch: number, label: string, rows: (from: number, n: number) => Float32Array, chunkBytes?: number): RowCache {
  const cache = new RowCache(ctx, count, rowShape, label, chunkBytes);
  forBatches(count, batch, (from, n) => {
    const t = ctx.upload(rows(from, n), [n, ...rowShape], `${label}.batch`);
    cache.put(t, from);
    t.release();
  });
  return cache;
}

/**
 * Reconstructs every unit after `done` and returns the quantized model with AdaRound codes and
 * learned activation scales. `float` is the (RepQ-ViT-folded) float model the quantizers were
 * calibrated on; `images` the calibration images [count, C, H, W].
 */
export async function reconstruct<Q extends QuantizedModel>(
  ctx: GpuContext,
  float: ModelCheckpoint,
  calibrated: Q,
  images: Float32Array,
  count: number,
  opts: ReconOptions,
): Promise<{ quantized: Q; reports: UnitReport[] }> {
  const s = opts.settings;
  const chunk = opts.chunkBytes;
  const cfg = float.config;
  const names = unitNames(cfg);
  const batch = Math.min(s.batch, count);
  if (s.iters >= 2 ** 20) throw new Error(`reconstruction: at most ${2 ** 20 - 1} iterations per unit`);
  const quantized: Q = { ...calibrated, blocks: [...calibrated.blocks], ...('merges' in calibrated && { merges: [...calibrated.merges] }) };
  const fp: FloatModel = isSwinCheckpoint(float) ? SwinModel.upload(ctx, float) : VitModel.upload(ctx, float);
  const reports: UnitReport[] = [];
  const P = cfg.family === 'swin' ? cfg.gridSize ** 2 : cfg.numPatches;
  const cpp = cfg.inChans * cfg.patchSize ** 2;

  const imageShape = [cfg.inChans, cfg.imgSize, cfg.imgSize];
  const perImage = cfg.inChans * cfg.imgSize * cfg.imgSize;
  const imageT = uploadRows(ctx, count, imageShape, batch, 'recon.images', (from, n) => images.subarray(from * perImage, (from + n) * perImage), chunk);
  const patchRows = (from: number, n: number) => im2col(images.subarray(from * perImage, (from + n) * perImage), n, cfg.inChans, cfg.imgSize, cfg.patchSize);
  const patches = uploadRows(ctx, count, [P, cpp], batch, 'recon.patches', patchRows, chunk);
  const peW = ctx.upload(float.weights.get('patch_embed.proj.weight')!, [cfg.embedDim, cpp], 'recon.patch_embed.weight');

  // Per unit: float input, float output, quantized-prefix input (null: same as the float input).
  // The float model's logits, for the Fisher snapshots' KL.
  const method = opts.method ?? 'mse';
  const logitsFp = method === 'mse' ? null : mapBatches(ctx, imageT, batch, 'recon.logits_fp', (xb) => fp.forward(xb), chunk);
  let xFp: RowCache = patches;
  let xQ: RowCache | null = null;
  let yFp: RowCache = mapBatches(ctx, patches, batch, 'recon.patch_embed.y_fp', (xb) => patchEmbedOutput(ctx, fp, peW, xb), chunk);
  peW.release();

  // The fake-quant model of `quantized` as it stands: it gives a unit's hard error before its
  // optimisation, and, uploaded again after it, the hard error after and the next unit's inputs.
  let fq = FakeQuantModel.upload(ctx, quantized);
  for (let u = 0; u < names.length; u++) {
    const name = names[u];
    // A unit's tensors differ in size from the last one's: free what the pool kept of those.
    ctx.trimPool();
    if (u >= (opts.done ?? 0)) {
      const started = performance.now();
      const hardError = () => hardUnitError(ctx, name, fq, name === 'patch_embed' ? { images: imageT, fp } : { xQ: xQ ?? xFp, yFp }, batch);
      const before = await hardError();
      // Its fake-quant forward's buffers are not needed by the steps.
      ctx.trimPool();
      const unit = buildUnit(ctx, name, fp, float, quantized, keepThreshold(s));
      const loss = unitLoss(ctx, unit, u, fp, { xFp, xQ, yFp, logitsFp }, opts);
      const { losses, secondsPerStep } = await trainUnit(ctx, unit, u, names.length, xFp, xQ, yFp, loss, opts);
      const snapshots = loss.snapshotSummary?.();
      const eigen = loss.eigenSummary?.() ?? undefined;
      loss.release();
      await storeUnit(unit, name, fp, quantized);
      unit.release();
      fq.release();
      // The unit's state and step buffers are not needed while the next unit's data is made.
      ctx.trimPool();
      fq = FakeQuantModel.upload(ctx, quantized);
      const report: UnitReport = { unit: name, seconds: 0, secondsPerStep, losses, hardError: { before, after: await hardError() }, ...(snapshots && { snapshots }), ...(eigen && { eigen }) };
      report.seconds = (performance.now() - started) / 1000;
      reports.push(report);
      await opts.onUnitDone?.(quantized, u + 1, report);
    }
    if (u === names.length - 1) break;

    // The next unit's data: float inputs are this unit's float outputs; quantized inputs come
    // from the fake-quant model of everything reconstructed so far.
    let nextFp: RowCache;
    let nextQ: RowCache;
    if (name === 'patch_embed') {
      nextFp = mapBatches(ctx, imageT, batch, 'recon.x_fp', (xb) => fp.embed(xb), chunk);
      nextQ = mapBatches(ctx, imageT, batch, 'recon.x_q', (xb) => fq.model.embed(xb), chunk);
    } else {
      nextFp = yFp;
      nextQ = mapBatches(ctx, xQ ?? xFp, batch, 'recon.x_q', (xb) => unitForward(fq.model, name, xb, fq.hooks), chunk);
    }
    xFp.release();
    xQ?.release();
    if (name === 'patch_embed') {
      yFp.release();
      imageT.release();
    }
    const next = names[u + 1]!;
    if (next === 'head') {
      xFp = mapBatches(ctx, nextFp, batch, 'recon.head.x_fp', (x) => headInput(fp, x), chunk);
      xQ = mapBatches(ctx, nextQ, batch, 'recon.head.x_q', (x) => headInput(fp, x), chunk);
      nextFp.release();
      nextQ.release();
    } else {
      xFp = nextFp;
      xQ = nextQ;
    }
    yFp = mapBatches(ctx, xFp, batch, `recon.${next}.y_fp`, (xb) => unitForward(fp, next, xb), chunk);
  }
  fq.release();
  xFp.release();
  xQ?.release();
  yFp.release();
  logitsFp?.release();
  fp.release();
  return { quantized, reports };
}

/**
 * The error of unit `name` in the fake-quant model `fq` against the float unit, over the first
 * HARD_ERROR_IMAGES inputs: ||ŷ − y||² / ||y||² for the patch embedding (embedded tokens from the
 * images) and the blocks (from the quantized-prefix inputs); for the head, which is trained on
 * KL, the mean KL(softmax(y) || softmax(ŷ)) of the logits from its quantized-prefix inputs.
 */
async function hardUnitError(
  ctx: GpuContext,
  name: string,
  fq: FakeQuantModel,
  data: { images: RowCache; fp: FloatModel } | { xQ: RowCache; yFp: RowCache },
  batch: number,
): Promise<number> {
  let err = 0;
  let ref = 0;
  const count = Math.min(HARD_ERROR_IMAGES, 'images' in data ? data.images.count : data.xQ.count);
  for (let from = 0; from < count; from += batch) {
    const n = Math.min(batch, count - from);
    let yq: Tensor;
    let y: Tensor;
    if ('images' in data) {
      const x = data.images.slice(from, n, 'recon.hard.images');
      yq = fq.model.embed(x);
      y = data.fp.embed(x);
      x.release();
    } else {
      const x = data.xQ.slice(from, n, 'recon.hard.x');
      y = data.yFp.slice(from, n, 'recon.hard.y');
      yq = unitForward(fq.model, name, x, fq.hooks);
      x.release();
    }
    const [a, b] = [await ctx.read(yq), await ctx.read(y)];
    if (name === 'head') {
      const classes = a.length / n;
      for (let r = 0; r < n; r++) err += klDivergence(b.subarray(r * classes, (r + 1) * classes), a.subarray(r * classes, (r + 1) * classes));
      ref += n;
    } else {
      for (let i = 0; i < a.length; i++) {
        err += (a[i] - b[i]) ** 2;
        ref += b[i] ** 2;
      }
    }
    yq.release();
    y.release();
  }
  return err / ref;
}

/** The loss of a unit: KL on logits for the head, else the run's method. */
function unitLoss(
  ctx: GpuContext,
  unit: ReconUnit,
  unitIndex: number,
  fp: FloatModel,
  data: { xFp: RowCache; xQ: RowCache | null; yFp: RowCache; logitsFp: RowCache | null },
  opts: ReconOptions,
): UnitLoss {
  const method = opts.method ?? 'mse';
  const { xFp, xQ, yFp, logitsFp } = data;
  if (unit.name === 'head') return new KlLoss(ctx);
  if (method === 'mse') return new MseLoss(ctx);
  if (!logitsFp || !opts.fisher) throw new Error(`reconstruction: ${method} needs Fisher settings`);
  const s = opts.settings;
  if (method === 'brecq-fim') {
    return new BrecqLoss(ctx, {
      tail: tailAfter(ctx, fp, unit.name),
      // The patch embedding's inputs are the images themselves, so its float output is cached.
      floatOutput: (from, n) => {
        if (unit.name === 'patch_embed' || !xQ) return yFp.slice(from, n, 'brecq.z');
        const x = xQ.slice(from, n, 'brecq.x_q');
        const z = unitForward(fp, unit.name, x);
        x.release();
        return z;
      },
      logitsFp,
      count: xFp.count,
      batch: Math.min(s.batch, xFp.count),
      temperature: opts.fisher.temperature,
      makeCache: (rowShape) => new RowCache(ctx, xFp.count, rowShape, 'recon.brecq.grads', opts.chunkBytes),
    });
  }
  const seed = (opts.seed ^ SNAPSHOT_SEED_MIX) >>> 0;
  const noise = (snapshot: number, batchIndex: number): NoiseSource => (slot, n) => {
    const t = ctx.empty([n], `recon.fisher.noise.${slot}`);
    randomUniform(ctx, t, seed, streamOf(unitIndex, snapshot * 4096 + batchIndex, slot));
    return t;
  };
  if (method === 'eig-fim') {
    const f = opts.fisher;
    return new EigFisherLoss(ctx, {
      unit,
      tail: tailAfter(ctx, fp, unit.name),
      snapshots: { xFp, yFp, logitsFp, batch: Math.min(s.batch, xFp.count), temperature: f.temperature },
      noise,
      rank: f.k,
      power: f.eigPower ?? 1,
      due: (it) => (f.eigOnce ? it === 0 : snapshotDue(f, s.iters, it)),
      seed: (seed + unitIndex * 104729) >>> 0,
      makeCache: (rowShape) => new RowCache(ctx, xFp.count, rowShape, 'recon.eig.grads', opts.chunkBytes),
    });
  }
  return new FisherLoss(ctx, method, opts.fisher, {
    unit,
    tail: tailAfter(ctx, fp, unit.name),
    xFp,
    yFp,
    logitsFp,
    iters: s.iters,
    batch: Math.min(s.batch, xFp.count),
    noise,
  });
}

/** The optimisation loop of one unit; returns the losses read back for progress and the time per step. */
async function trainUnit(
  ctx: GpuContext,
  unit: ReconUnit,
  unitIndex: number,
  units: number,
  xFp: RowCache,
  xQ: RowCache | null,
  yFp: RowCache,
  loss: UnitLoss,
  opts: ReconOptions,
): Promise<{ losses: [number, number][]; secondsPerStep: number }> {
  const s = opts.settings;
  const count = xFp.count;
  const batch = Math.min(s.batch, count);
  const data: StepData = {
    xFp,
    xQ,
    yFp,
    perm: ctx.empty([count], 'recon.perm', 'u32'),
    indices: ctx.empty([batch], 'recon.indices', 'u32'),
    indexNoise: ctx.empty([batch], 'recon.index_noise'),
  };
  const losses: [number, number][] = [];
  await ctx.sync();
  const started = performance.now();
  for (let it = 0; it < s.iters; it++) {
    opts.signal?.throwIfAborted();
    await loss.prepare(it);
    recordStep(ctx, unit, unitIndex, data, loss, s, opts.seed, it);
    const cnt = it + 1;
    if (cnt % s.reportEvery === 0 || cnt === s.iters || it === 0) {
      const reported = await loss.value();
      // A diverged unit would only fail later, as a NaN scale in a file; say where it happened.
      if (!Number.isFinite(reported)) {
        throw new FimaqError(`reconstruction of ${unit.name} diverged: loss ${reported} at iteration ${cnt} (non-finite values in the model, its activations, or too large learning rates)`);
      }
      losses.push([it, reported]);
      opts.onProgress?.({ unit: unit.name, unitIndex, units, iteration: cnt, iters: s.iters, loss: reported });
    }
  }
  const secondsPerStep = (performance.now() - started) / 1000 / s.iters;
  for (const t of [data.perm, data.indices, data.indexNoise]) t.release();
  return { losses, secondsPerStep };
}

/** What a step samples its minibatch from (see `recordStep`), and its scratch tensors. */
export interface StepData {
  xFp: RowCache;
  /** Inputs from the quantized prefix; null for the patch embedding, whose inputs are the images. */
  xQ: RowCache | null;
  yFp: RowCache;
  /** u32 [xFp.count], u32 [batch], f32 [batch]. */
  perm: Tensor;
  indices: Tensor;
  indexNoise: Tensor;
}

/**
 * Records optimisation step `it` of a unit: the minibatch sampled on the GPU, QDrop mixing of its
 * inputs, the unit's forward, the loss's gradient, the backward and the Adam steps. Reads nothing
 * back; a Fisher loss's snapshot comes before, from `loss.prepare(it)`. The dispatch census
 * (bench/census.ts) records steps through this function too.
 */
export function recordStep(ctx: GpuContext, unit: ReconUnit, unitIndex: number, data: StepData, loss: UnitLoss, s: ReconSettings, seed: number, it: number): void {
  const { xFp, xQ, yFp, indices } = data;
  const batch = indices.size;
  randomUniform(ctx, data.indexNoise, seed, streamOf(unitIndex, it, INDEX_SLOT));
  sampleIndices(ctx, data.indexNoise, data.perm, indices, xFp.count);
  const xFpB = ctx.empty([batch, ...xFp.rowShape], 'recon.x_fp.batch');
  xFp.gather(indices, xFpB);
  let input = xFpB;
  if (xQ) {
    const xQB = ctx.empty(xFpB.shape, 'recon.x_q.batch');
    xQ.gather(indices, xQB);
    const mixNoise = ctx.empty([xFpB.size], 'recon.mix_noise');
    randomUniform(ctx, mixNoise, seed, streamOf(unitIndex, it, INPUT_MIX_SLOT));
    input = qdropMix(ctx, xQB, xFpB, mixNoise, keepThreshold(s), 'recon.input');
    xQB.release();
    mixNoise.release();
    xFpB.release();
  }
  const target = ctx.empty([batch, ...yFp.rowShape], 'recon.y_fp.batch');
  yFp.gather(indices, target);
  const noise: NoiseSource = (slot, n) => {
    const t = ctx.empty([n], `recon.noise.${slot}`);
    randomUniform(ctx, t, seed, streamOf(unitIndex, it, slot));
    return t;
  };
  const y = unit.trainForward(input, noise);
  const dy = loss.grad(y, target, it, indices);
  const cnt = it + 1;
  unit.backward(dy);
  unit.step({ lrRound: s.lrRound, lrScale: scaleLrAt(s, it), roundWeight: roundWeightAt(s, cnt), beta: betaAt(s, cnt) });
  for (const t of [y, dy, target, input]) t.release();
}
