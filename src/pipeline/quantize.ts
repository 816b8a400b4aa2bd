/**
 * The quantize flow that the CLI, the web app and the benchmarks share: the calibration search
 * (on a subset for the reconstruction methods), then block-wise reconstruction unit by unit with a
 * checkpoint after calibration and after each unit (resumable), then the quantized-model file.
 * Progress goes to callbacks, an AbortSignal stops it between steps, and checkpoints and output go
 * through a RunStore, so nothing here touches files or the DOM.
 *
 * The file records everything needed to repeat the run and nothing that changes between repeats
 * (no dates, no timings): the same settings, seed, data and adapter give the same bytes.
 */
import type { Dataset } from '../data/dataset.js';
import { checkMatchesModel, parseQuantizedModel, serializeQuantizedModel } from '../io/quantized-file.js';
import type { RunStore } from '../io/run-store.js';
import type { ModelCheckpoint } from '../model/checkpoint.js';
import type { CalibrationMethod } from '../quant/calibrate.js';
import { calibrateModel } from '../quant/calibrate-model.js';
import { seededIndices } from '../quant/calibration-set.js';
import type { QuantizationInfo, QuantizedModel } from '../quant/quantized-model.js';
import type { FisherSettings } from '../recon/losses.js';
import { type UnitReport, reconstruct } from '../recon/reconstruct.js';
import { unitNames } from '../recon/unit-graph.js';
import type { ReconSettings } from '../recon/settings.js';
import type { AdapterSummary, GpuContext } from '../runtime/context.js';
import { floatBytes, sha256Hex, tensorsDigest } from '../util/digest.js';
import { DeviceLostError, FimaqError } from '../util/errors.js';
import { type UnitDetails, checkpointProgress, hasCheckpoint, loadCalibrated, loadCheckpoint, saveCalibrated, saveFloatWeights, saveState } from './checkpoint.js';
import { METHODS, type Method, isReconMethod } from './methods.js';
import { type RunMemory, memoryFitProblems, runMemory } from './model-info.js';

export { FISHER_METHODS, METHODS, type Method, RECON_METHODS, isReconMethod } from './methods.js';

/** The calibration images, preprocessed, and what identifies them in the file. */
export interface CalibrationImages {
  /** [count, C, H, W] */
  pixels: Float32Array;
  count: number;
  /** A name that does not depend on where the data lies ('fashion-mnist:train', a folder's name). */
  name: string;
  /** 'seeded': the first `count` of a permutation drawn from the seed; 'file': an index list. */
  selection: 'seeded' | 'file';
  indices: readonly number[];
}

export interface QuantizeRequest {
  /** A ViT, DeiT or Swin checkpoint; a Swin takes only the calibration methods (calib, rtn) so far ([E7]). */
  checkpoint: ModelCheckpoint;
  calibration: CalibrationImages;
  method: Method;
  wbits: number;
  abits: number;
  seed: number;
  /** Reconstruction settings; required by the reconstruction methods, unused by calib and rtn. */
  settings?: ReconSettings;
  /** The preset the settings started from, recorded in the file. */
  preset?: string;
  /** Fisher settings (fimaq, diag-fim, lr-fim; brecq-fim uses the temperature). */
  fisher?: FisherSettings;
  toolVersion: string;
}

/** What to do with a checkpoint of an earlier run in the store. */
export type CheckpointPolicy = 'refuse' | 'resume' | 'fresh';

export interface PipelineProgress {
  phase: 'calibrate' | 'reconstruct' | 'evaluate';
  /** The unit or block being worked on, or the model being evaluated. */
  stage: string;
  done: number;
  total: number;
  /** Reconstruction: the loss read back at `iteration` of `iters` in unit `unitIndex` of `units`. */
  recon?: { unitIndex: number; units: number; iteration: number; iters: number; loss: number };
}

export interface QuantizeOptions {
  store: RunStore;
  /** Default 'refuse': a plain rerun never overwrites a resumable checkpoint. */
  checkpoints?: CheckpointPolicy;
  onProgress?: (p: PipelineProgress) => void;
  /** After each reconstructed unit (the web app draws each unit's error before and after). */
  onUnitDone?: (report: UnitReport) => void;
  /** Things a person should know that are not errors ("resuming after 3 units"). */
  onNotice?: (message: string) => void;
  signal?: AbortSignal;
  /**
   * GPU memory the run may use, in bytes: a run whose estimate (runMemory) is larger refuses to
   * start. WebGPU does not say how much memory an adapter has; without a budget only the
   * adapter's buffer limits are checked.
   */
  memoryBudgetBytes?: number;
  /** The run's memory estimate, once it is known to fit (before any work). */
  onMemoryEstimate?: (memory: RunMemory) => void;
}

export interface QuantizeResult {
  quantized: QuantizedModel;
  /** The memory estimate the run was checked against before it started. */
  memory: RunMemory;
  /** The file's bytes, as written to the store's output. */
  bytes: Uint8Array;
  /** The calibration-only model (after a resume, the one the checkpoint kept; null if it kept none). */
  calibrated: QuantizedModel | null;
  reports: UnitReport[];
  /** Units that were already done in the checkpoint this run resumed from (0 for a fresh run). */
  resumedAt: number;
  searchSize: number;
  calibSeconds: number;
  reconSeconds: number;
}

/**
 * The calibration images of a run: `indices` when given (an index list), else the first `size`
 * of a permutation drawn from `seed`, as the official code takes them. The CLI and the web app
 * both choose them here, so the same data, size and seed give the same images and the same file.
 */
export async function calibrationImages(data: Dataset, size: number, seed: number, indices?: number[]): Promise<CalibrationImages> {
  const chosen = indices ?? seededIndices(data.count, size, seed);
  const batch = await data.batch(chosen);
  return { pixels: batch.pixels, count: chosen.length, name: data.name, selection: indices ? 'file' : 'seeded', indices: chosen };
}

/** The adapter as recorded in files: what decides the arithmetic, not how the driver was reached. */
export const adapterName = (a: AdapterSummary): string => `${a.vendor || 'unknown'} ${a.architecture || 'unknown'}${a.fallback ? ' (fallback)' : ''}`;

/** Checks a request before anything runs, so that bad settings fail at once. */
function checkRequest(req: QuantizeRequest): void {
  if (!METHODS.includes(req.method)) throw new FimaqError(`unknown method '${req.method}' (one of ${METHODS.join(', ')})`);
  if (isReconMethod(req.method) && !req.settings) throw new Error(`quantize: ${req.method} needs reconstruction settings`);
  if (req.method !== 'mse' && isReconMethod(req.method) && !req.fisher) throw new Error(`quantize: ${req.method} needs Fisher settings`);
  if (req.calibration.count < 1) throw new FimaqError('calibration needs at least one image');
}

/** Runs the quantize flow and writes the file to the store's output. */
export async function quantizeModel(ctx: GpuContext, req: QuantizeRequest, opts: QuantizeOptions): Promise<QuantizeResult> {
  checkRequest(req);
  const memory = checkedMemory(ctx, req, opts);
  const { checkpoint: ckpt, calibration: cal, method, wbits, abits, seed } = req;
  const { store } = opts;
  const started = performance.now();
  const progress = (phase: PipelineProgress['phase']) => (stage: string, done: number, total: number) => opts.onProgress?.({ phase, stage, done, total });
  const identity = await runIdentity(ctx, ckpt, cal);
  const info = (m: string, details: Record<string, unknown>): QuantizationInfo => ({
    method: m, wbits, abits, seed, calibSize: cal.count, calibData: cal.name, toolVersion: req.toolVersion, details: { ...details, ...identity },
  });

  if (!isReconMethod(method)) {
    const o = { method: method as CalibrationMethod, wbits, abits, onProgress: progress('calibrate'), signal: opts.signal };
    const result = await calibrateModel(ctx, ckpt, cal.pixels, cal.count, o);
    const quantized = { ...result.quantized, configText: ckpt.configText, info: info(method, {}) } as QuantizedModel;
    const bytes = await writeOutput(store, quantized);
    return { quantized, memory, bytes, calibrated: null, reports: [], resumedAt: 0, searchSize: cal.count, calibSeconds: (performance.now() - started) / 1000, reconSeconds: 0 };
  }

  const s = req.settings as ReconSettings;
  const policy = opts.checkpoints ?? 'refuse';
  if (policy !== 'resume' && (await hasCheckpoint(store))) {
    if (policy === 'fresh') await store.clear();
    else {
      const p = await checkpointProgress(store);
      const state = p ? ` (${p.method}, ${p.done} units done)` : '';
      throw new FimaqError(`${store.where}: holds the checkpoint of an unfinished run${state}; --resume continues it, --fresh discards it and starts over`);
    }
  }
  const searchSize = Math.min(s.searchSize, cal.count);
  const { reportEvery: _report, ...fingerprinted } = s;
  // Everything a resumed run reads: model config and float weights, the calibration images
  // themselves, and every setting that changes the result.
  const fingerprint = await sha256Hex(JSON.stringify({ method, config: await sha256Hex(ckpt.configText), ...identity, wbits, abits, seed, images: cal.indices, settings: fingerprinted, fisher: req.fisher }));
  const resumed = policy === 'resume' ? await loadCheckpoint(store, { fingerprint, config: ckpt.config, unitNames: unitNames(ckpt.config), wbits, abits }) : null;
  if (policy === 'resume') opts.onNotice?.(resumed ? `resuming from ${store.where} after ${resumed.done} finished units` : `nothing to resume in ${store.where}; starting from the beginning`);

  let calibrated: QuantizedModel;
  let float: Map<string, Float32Array>;
  let floatDigest: string;
  if (resumed) {
    ({ quantized: calibrated, float, floatDigest } = resumed);
  } else {
    const perImage = cal.pixels.length / cal.count;
    const pixels = cal.pixels.subarray(0, searchSize * perImage);
    const o = { method: 'calib' as const, wbits, abits, eqN: s.searchCandidates, rounds: s.searchRounds, onProgress: progress('calibrate'), signal: opts.signal };
    const result = await calibrateModel(ctx, ckpt, pixels, searchSize, o);
    calibrated = { ...result.quantized, configText: ckpt.configText, info: info('calib', { search_size: searchSize }) } as QuantizedModel;
    float = result.reparameterized;
    floatDigest = await saveFloatWeights(store, float);
    await saveCalibrated(store, calibrated);
    await saveState(store, calibrated, 0, [], { method, fingerprint, floatDigest });
  }
  // What every finished unit reported, those before a resume included: the file does not depend
  // on where a run was interrupted.
  const unitDetails: UnitDetails[] = [...(resumed?.units ?? [])];
  const calibSeconds = (performance.now() - started) / 1000;
  const record = { method, fingerprint, floatDigest };
  const result = await keepingCheckpoint(store, () => unitDetails.length, () => reconstruct(ctx, { ...ckpt, weights: float }, calibrated, cal.pixels, cal.count, {
    settings: s,
    seed,
    method,
    fisher: req.fisher,
    done: resumed?.done ?? 0,
    signal: opts.signal,
    onProgress: (p) => opts.onProgress?.({
      phase: 'reconstruct', stage: p.unit, done: p.unitIndex * p.iters + p.iteration, total: p.units * p.iters,
      recon: { unitIndex: p.unitIndex, units: p.units, iteration: p.iteration, iters: p.iters, loss: p.loss },
    }),
    onUnitDone: async (q, done, r) => {
      unitDetails.push({ unit: r.unit, losses: r.losses, hard_error: r.hardError, ...(r.snapshots && { snapshots: r.snapshots }), ...(r.eigen && { eigen: r.eigen }) });
      await saveState(store, q, done, unitDetails, record);
      opts.onUnitDone?.(r);
    },
  }));
  const reconSeconds = (performance.now() - started) / 1000 - calibSeconds;
  const details = { preset: req.preset ?? 'custom', settings: s, fisher: req.fisher ?? null, search_size: searchSize, units: unitDetails };
  const quantized = { ...result.quantized, info: info(method, details) };
  // Read before the checkpoint goes: after a resume the state was no longer calibration-only.
  const calibratedModel = resumed ? await loadCalibrated(store, ckpt.config) : calibrated;
  const bytes = await writeOutput(store, quantized);
  await store.clear();
  return { quantized, memory, bytes, calibrated: calibratedModel, reports: result.reports, resumedAt: resumed?.done ?? 0, searchSize, calibSeconds, reconSeconds };
}

/** The file's identity fields: what the model, the images and the adapter were (no dates, no timings). */
async function runIdentity(ctx: GpuContext, ckpt: ModelCheckpoint, cal: CalibrationImages): Promise<Record<string, string>> {
  return {
    model_sha256: await tensorsDigest(ckpt.weights),
    calib_sha256: await sha256Hex(floatBytes(cal.pixels)),
    calib_indices: cal.selection,
    adapter: adapterName(ctx.adapter),
  };
}

/** The run's memory estimate, checked against the GPU's binding limit and the budget before any work. */
function checkedMemory(ctx: GpuContext, req: QuantizeRequest, opts: QuantizeOptions): RunMemory {
  // The largest binding splits calibration captures and reconstruction caches into chunks.
  const memory = runMemory(req.checkpoint.config, {
    method: req.method, wbits: req.wbits, abits: req.abits, images: req.calibration.count, settings: req.settings, fisher: req.fisher,
    chunkBytes: ctx.maxBindingBytes,
  });
  const problems = memoryFitProblems(memory, { maxBufferSize: ctx.limits.maxBufferSize, maxStorageBufferBindingSize: ctx.maxBindingBytes }, opts.memoryBudgetBytes);
  if (problems.length > 0) throw new FimaqError(`the run does not fit the GPU: ${problems.join('; ')}`);
  opts.onMemoryEstimate?.(memory);
  return memory;
}

/**
 * Runs reconstruction; a lost device stops it with an error that says the checkpoint keeps the
 * finished units (`done()` of them), so that the run can be resumed on a new device.
 */
async function keepingCheckpoint<T>(store: RunStore, done: () => number, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (!(e instanceof DeviceLostError)) throw e;
    throw new DeviceLostError(`${e.message}; the checkpoint in ${store.where} keeps ${done()} finished units, and resuming continues after them`, true);
  }
}

/** Serialises, reads back (the file must parse as what it claims) and writes the output. */
async function writeOutput(store: RunStore, q: QuantizedModel): Promise<Uint8Array> {
  const bytes = serializeQuantizedModel(q, store.outputName);
  checkMatchesModel(parseQuantizedModel(bytes, 'the written file'), q.config, 'the written file');
  await store.writeOutput(bytes);
  return bytes;
}
