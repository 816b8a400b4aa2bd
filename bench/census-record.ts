/**
 * The dispatch census's recording half (bench/census.ts): random-weight models of a named shape,
 * a GPU context in the runtime's census record-only mode (every dispatch, clear and copy observed,
 * nothing compiled or run), and the engine's own code driven through each phase of a run. Each
 * dispatch becomes an entry with its kernel, workgroups, invocations, and the FLOPs and bytes of
 * its descriptor's cost (src/runtime/kernel.ts).
 *
 * Values are garbage in record-only mode, so only paths whose dispatches do not depend on values
 * are driven: a reconstruction step (`recordStep`, the code the run records), a Fisher snapshot
 * (`fisherSnapshot`), the forwards, and calibration (whose candidate tables come out of garbage
 * captures but keep their sizes). The Fisher loss's state (G, ḡ, Binv) comes from snapshots that
 * read values back, so the census uploads a random rank-k state and calls `dplrLossAndGrad`, the
 * one call FisherLoss.grad makes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IntVit } from '../src/inference/int-vit.js';
import type { VitCheckpoint } from '../src/model/checkpoint.js';
import { VitModel } from '../src/model/vit.js';
import { calibrate } from '../src/quant/calibrate.js';
import { FakeQuantModel } from '../src/quant/fake-quant-model.js';
import type { QuantizedVit } from '../src/quant/quantized-model.js';
import { RowCache } from '../src/quant/capture.js';
import { fisherSnapshot } from '../src/recon/fisher.js';
import { dplrLossAndGrad } from '../src/recon/fisher-loss.js';
import { DEFAULT_FISHER, type FisherSettings, KlLoss, MseLoss, type UnitLoss } from '../src/recon/losses.js';
import { recordStep } from '../src/recon/reconstruct.js';
import { buildUnit, tailAfter, unitNames } from '../src/recon/unit-graph.js';
import { PRESETS, type ReconSettings, keepThreshold } from '../src/recon/settings.js';
import type { NoiseSource } from '../src/recon/units.js';
import { randomUniform } from '../src/ops/random-uniform.js';
import type { CensusEvent, GpuContext } from '../src/runtime/context.js';
import { dispatchCost, workgroupSize } from '../src/runtime/kernel.js';
import { PACKAGE_ROOT, createNodeContext } from '../src/runtime/node-gpu.js';
import { uniformTensor } from '../src/util/prng.js';
import { randomQuantizedVit } from '../test/helpers/quantized-sample.js';
import { randomVitCheckpoint } from '../test/helpers/random-vit.js';

export interface DispatchEntry {
  kernel: string;
  workgroups: number;
  invocations: number;
  flops: number;
  bytes: number;
}

/** A clear or a buffer-to-buffer copy; `bytes` moved (a copy reads and writes). */
export interface TransferEntry {
  kind: 'clear' | 'copy';
  bytes: number;
}

export interface Work {
  dispatches: DispatchEntry[];
  transfers: TransferEntry[];
}

/** `repeat` times `dispatches` and `transfers`, plus `once` (a snapshot: 32 batches and two clears). */
export interface Phase extends Work {
  note: string;
  repeat: number;
  once?: Work;
}

export const CENSUS_MODELS = ['deit_small', 'vit_base', 'demo'] as const;
export type CensusModel = (typeof CENSUS_MODELS)[number];

/** config.json text of each census model; the demo's shapes are demo/fashion-vit's. */
export function censusConfig(model: CensusModel, depth?: number): string {
  const base =
    model === 'demo'
      ? JSON.parse(readFileSync(join(PACKAGE_ROOT, 'demo', 'fashion-vit', 'config.json'), 'utf8'))
      : { architecture: model === 'deit_small' ? 'deit_small_patch16_224' : 'vit_base_patch16_224' };
  if (depth !== undefined) base.model_args = { ...base.model_args, depth };
  return JSON.stringify(base);
}

/** The bit widths the census quantizes at (dispatches do not depend on them, only the packed code sizes of the integer pipeline). */
export const CENSUS_BITS = 4;

export interface CensusModels {
  float: VitCheckpoint;
  quantized: QuantizedVit;
}

export function censusModels(model: CensusModel, depth?: number): CensusModels {
  const text = censusConfig(model, depth);
  return { float: randomVitCheckpoint(text, 7), quantized: randomQuantizedVit(text, { wbits: CENSUS_BITS, abits: CENSUS_BITS, seed: 7 }) };
}

/** A record-only context and the events it observes. */
export class CensusRecorder {
  private events: CensusEvent[] | null = null;
  private constructor(readonly ctx: GpuContext) {}

  static async create(): Promise<CensusRecorder> {
    let recorder: CensusRecorder | null = null;
    // The census models GPUs: products split along K as they would on one, whatever adapter records.
    const ctx = await createNodeContext({ tuning: 'gpu', census: { recordOnly: true, observe: (e) => recorder?.events?.push(e) } });
    recorder = new CensusRecorder(ctx);
    return recorder;
  }

  /** The work `fn` records. */
  async record(fn: () => void | Promise<void>): Promise<Work> {
    if (this.events) throw new Error('census: recordings do not nest');
    this.events = [];
    try {
      await fn();
      return toWork(this.events);
    } finally {
      this.events = null;
    }
  }

  /** Dispatches and transfers recorded so far in the current recording. */
  position(): Position {
    const events = this.events ?? [];
    const dispatches = events.filter((e) => e.kind === 'dispatch').length;
    return { dispatches, transfers: events.length - dispatches };
  }

  dispose(): Promise<void> {
    return this.ctx.dispose();
  }
}

interface Position {
  dispatches: number;
  transfers: number;
}

function toWork(events: CensusEvent[]): Work {
  const work: Work = { dispatches: [], transfers: [] };
  for (const e of events) {
    if (e.kind !== 'dispatch') {
      work.transfers.push({ kind: e.kind, bytes: e.kind === 'copy' ? 2 * e.bytes : e.bytes });
      continue;
    }
    const workgroups = e.grid[0] * e.grid[1] * e.grid[2];
    const overrides = { ...e.desc.overrides, ...e.overrides };
    const cost = dispatchCost(e.desc, { uniforms: e.uniforms, grid: e.grid, overrides, bufferBytes: e.buffers.map((t) => t.byteLength) });
    work.dispatches.push({ kernel: e.desc.name, workgroups, invocations: workgroups * workgroupSize(e.desc, e.overrides), ...cost });
  }
  return work;
}

const sameDispatch = (a: DispatchEntry, b: DispatchEntry) => a.kernel === b.kernel && a.workgroups === b.workgroups && a.flops === b.flops && a.bytes === b.bytes;

/**
 * Work recorded over one and over two repetitions, split into what is done once and what repeats;
 * throws unless the second repetition is the first one's work again.
 */
export function splitRepetition(one: Work, two: Work, label: string): { once: Work; each: Work } {
  const each: Work = { dispatches: two.dispatches.slice(one.dispatches.length), transfers: two.transfers.slice(one.transfers.length) };
  const once: Work = {
    dispatches: one.dispatches.slice(0, one.dispatches.length - each.dispatches.length),
    transfers: one.transfers.slice(0, one.transfers.length - each.transfers.length),
  };
  const first = { dispatches: one.dispatches.slice(once.dispatches.length), transfers: one.transfers.slice(once.transfers.length) };
  const same =
    first.dispatches.length === each.dispatches.length &&
    first.dispatches.every((d, i) => sameDispatch(d, each.dispatches[i])) &&
    first.transfers.length === each.transfers.length &&
    first.transfers.every((t, i) => t.kind === each.transfers[i].kind && t.bytes === each.transfers[i].bytes);
  if (!same) throw new Error(`census: ${label}: the second repetition's work differs from the first's`);
  return { once, each };
}

/** Row shapes of a unit's caches: its input (float and quantized-prefix) and its output. */
function unitRows(m: CensusModels, unit: string): { x: number[]; y: number[]; quantizedInput: boolean } {
  const c = m.float.config;
  if (unit === 'patch_embed') return { x: [c.numPatches, c.inChans * c.patchSize ** 2], y: [c.numPatches, c.embedDim], quantizedInput: false };
  if (unit === 'head') return { x: [c.embedDim], y: [c.numClasses], quantizedInput: true };
  return { x: [c.numTokens, c.embedDim], y: [c.numTokens, c.embedDim], quantizedInput: true };
}

/** The Fisher loss after all k snapshots of a unit: a random rank-k state (its values do not matter here). */
function fisherStepLoss(ctx: GpuContext, outputSize: number, f: FisherSettings): UnitLoss & { release(): void } {
  const k = f.k;
  const state = {
    g: ctx.upload(uniformTensor(3, 1, k * outputSize, 0.5, 0.25), [k, outputSize], 'census.G'),
    gbar: ctx.upload(uniformTensor(3, 2, outputSize, 0.5, 0.25), [outputSize], 'census.gbar'),
    binv: ctx.upload(uniformTensor(3, 3, k * k, 0.5, 0.25), [k, k], 'census.binv'),
    rank: k,
  };
  const losses = ctx.empty([2], 'census.losses');
  const norm = ctx.empty([2], 'census.norm');
  return {
    prepare: async () => {},
    grad: (y, target) => dplrLossAndGrad(ctx, y, target, state, { p1: f.p1, p2: f.p2 }, losses, norm, false, 'recon.fisher'),
    value: async () => Number.NaN,
    release: () => {
      for (const t of [state.g, state.gbar, state.binv, losses, norm]) t.release();
    },
  };
}

export type StepLoss = 'mse' | 'fimaq' | 'kl';

/**
 * One steady-state optimisation step (iteration 1: no normaliser copy) of `unit` per loss, with
 * caches of `settings.calibSize` images, as `reconstruct` records it (`recordStep`).
 */
export async function recordReconSteps<L extends StepLoss>(
  rec: CensusRecorder, m: CensusModels, fp: VitModel, unit: string, losses: readonly L[], settings: ReconSettings = PRESETS.paper, fisher: FisherSettings = DEFAULT_FISHER,
): Promise<Record<L, Work>> {
  const { ctx } = rec;
  const rows = unitRows(m, unit);
  const count = settings.calibSize;
  const batch = Math.min(settings.batch, count);
  const xFp = new RowCache(ctx, count, rows.x, 'census.x_fp');
  const xQ = rows.quantizedInput ? new RowCache(ctx, count, rows.x, 'census.x_q') : null;
  const yFp = new RowCache(ctx, count, rows.y, 'census.y_fp');
  const data = { xFp, xQ, yFp, perm: ctx.empty([count], 'census.perm', 'u32'), indices: ctx.empty([batch], 'census.indices', 'u32'), indexNoise: ctx.empty([batch], 'census.index_noise') };
  const u = buildUnit(ctx, unit, fp, m.float, m.quantized, keepThreshold(settings));
  const unitIndex = unitNames(m.float.config).indexOf(unit);
  const out = {} as Record<L, Work>;
  try {
    for (const loss of losses) {
      const unitLoss = loss === 'kl' ? new KlLoss(ctx) : loss === 'mse' ? new MseLoss(ctx) : fisherStepLoss(ctx, yFp.rowSize, fisher);
      try {
        out[loss] = await rec.record(() => recordStep(ctx, u, unitIndex, data, unitLoss, settings, 1, 1));
      } finally {
        unitLoss.release();
      }
    }
    return out;
  } finally {
    u.release();
    for (const t of [data.perm, data.indices, data.indexNoise]) t.release();
    for (const c of [xFp, xQ, yFp]) c?.release();
  }
}

/**
 * One Fisher snapshot of `unit` over `settings.calibSize` images, as FisherLoss.prepare records it
 * (the two read-backs and the state's upload are no dispatches): recorded over one batch and over
 * two, checked alike, and given as the once-per-snapshot work plus one batch repeated.
 */
export async function recordFisherSnapshot(rec: CensusRecorder, m: CensusModels, fp: VitModel, unit: string, settings: ReconSettings = PRESETS.paper, fisher: FisherSettings = DEFAULT_FISHER): Promise<Phase> {
  const { ctx } = rec;
  const batch = Math.min(settings.batch, settings.calibSize);
  if (settings.calibSize % batch !== 0) throw new Error(`census: ${settings.calibSize} images are not whole batches of ${batch}`);
  const rows = unitRows(m, unit);
  const u = buildUnit(ctx, unit, fp, m.float, m.quantized, keepThreshold(settings));
  const tail = tailAfter(ctx, fp, unit);
  const over = async (batches: number) => {
    const count = batches * batch;
    const xFp = new RowCache(ctx, count, rows.x, 'census.x_fp');
    const yFp = new RowCache(ctx, count, rows.y, 'census.y_fp');
    const logitsFp = new RowCache(ctx, count, [m.float.config.numClasses], 'census.logits_fp');
    const noise = (): NoiseSource => (slot, n) => {
      const t = ctx.empty([n], `census.noise.${slot}`);
      randomUniform(ctx, t, 1, slot);
      return t;
    };
    try {
      return await rec.record(() => {
        const sums = fisherSnapshot(ctx, u, tail, { xFp, yFp, logitsFp, batch, temperature: fisher.temperature, noise });
        sums.gradSum.release();
        sums.errorSum.release();
      });
    } finally {
      for (const c of [xFp, yFp, logitsFp]) c.release();
    }
  };
  try {
    const { once, each } = splitRepetition(await over(1), await over(2), `fisher snapshot of ${unit}`);
    return { note: `one Fisher snapshot of ${unit} over ${settings.calibSize} images: once, then ${settings.calibSize / batch} batches of ${batch}`, repeat: settings.calibSize / batch, once, ...each };
  } finally {
    tail.release();
    u.release();
  }
}

/** One forward of a batch of random images through the float, fake-quant or integer pipeline. */
export async function recordForward(rec: CensusRecorder, m: CensusModels, pipeline: 'float' | 'fake' | 'int', batch: number): Promise<Work> {
  const { ctx } = rec;
  const c = m.float.config;
  const model = pipeline === 'float' ? VitModel.upload(ctx, m.float) : pipeline === 'fake' ? FakeQuantModel.upload(ctx, m.quantized) : IntVit.upload(ctx, m.quantized);
  const images = ctx.upload(uniformTensor(5, 1, batch * c.inChans * c.imgSize ** 2, 0, 1), [batch, c.inChans, c.imgSize, c.imgSize], 'census.images');
  try {
    return await rec.record(() => model.forward(images).release());
  } finally {
    images.release();
    model.release();
  }
}

/**
 * Calibration (the search before reconstruction: `searchSize` images, `searchCandidates`
 * candidates, `searchRounds` rounds, RepQ-ViT) of a one-block model of the same shape, split by
 * stage: the patch embedding (with the tokens of every image), one block (every block's search is
 * the same work), and the head.
 */
export async function recordCalibration(rec: CensusRecorder, model: CensusModel, settings: ReconSettings = PRESETS.paper): Promise<Record<'patch_embed' | 'block' | 'head', Work>> {
  const { ctx } = rec;
  const m = censusModels(model, 1);
  const c = m.float.config;
  const count = settings.searchSize;
  const images = uniformTensor(5, 2, count * c.inChans * c.imgSize ** 2, 0, 1);
  // Stage boundaries: onProgress runs as each stage (patch_embed, blocks.0, head, done) starts.
  const starts: Position[] = [];
  const all = await rec.record(async () => {
    await calibrate(ctx, m.float, images, count, {
      method: 'calib',
      wbits: CENSUS_BITS,
      abits: CENSUS_BITS,
      eqN: settings.searchCandidates,
      rounds: settings.searchRounds,
      batchSize: settings.batch,
      onProgress: () => starts.push(rec.position()),
    });
  });
  if (starts.length !== 4) throw new Error(`census: calibration reported ${starts.length} stages, expected patch_embed, blocks.0, head, done`);
  const stage = (i: number): Work => ({
    dispatches: all.dispatches.slice(starts[i].dispatches, starts[i + 1].dispatches),
    transfers: all.transfers.slice(starts[i].transfers, starts[i + 1].transfers),
  });
  return { patch_embed: stage(0), block: stage(1), head: stage(2) };
}
