/**
 * Timings shared by bench/recon.ts, bench/calib.ts and bench/gpu-check.ts: reconstruction steps of
 * chosen units, FIMA-Q's step and Fisher-snapshot costs told apart, and the calibration search
 * per unit.
 */
import type { VitCheckpoint } from '../src/model/checkpoint.js';
import { type CalibrateOptions, calibrate } from '../src/quant/calibrate.js';
import type { QuantizedVit } from '../src/quant/quantized-model.js';
import { DEFAULT_FISHER } from '../src/recon/losses.js';
import { type ReconMethod, type UnitReport, reconstruct } from '../src/recon/reconstruct.js';
import type { ReconSettings } from '../src/recon/settings.js';
import type { GpuContext } from '../src/runtime/context.js';

/** A model calibrated (any method) and the images its units are reconstructed on. */
export interface ReconSetup {
  float: VitCheckpoint;
  calibrated: QuantizedVit;
  images: Float32Array;
  count: number;
  settings: ReconSettings;
}

/** The calibrated model of `calibrate`'s result, as reconstruct takes it. */
export function calibratedModel(ckpt: VitCheckpoint, cal: Awaited<ReturnType<typeof calibrate>>, method: string, wbits: number, abits: number, count: number): QuantizedVit {
  const info = { method, wbits, abits, seed: 0, calibSize: count, calibData: 'bench', toolVersion: 'bench' };
  return { ...cal.quantized, configText: ckpt.configText, info };
}

export interface UnitRunOptions {
  method: ReconMethod;
  iters: number;
  /** Fisher snapshots at the first k steps (disMode qf), so runs of different lengths take the same ones. */
  k?: number;
  /** Units before this one count as done (kept as calibrated). */
  from?: number;
  /** Stop after this many units (default: all). */
  units?: number;
  onUnitDone?: () => Promise<void>;
}

/** Reconstructs units of `r` for `iters` steps each and returns their reports. */
export async function reconstructUnits(ctx: GpuContext, r: ReconSetup, o: UnitRunOptions): Promise<UnitReport[]> {
  const stop = new AbortController();
  const reports: UnitReport[] = [];
  try {
    await reconstruct(ctx, r.float, r.calibrated, r.images, r.count, {
      settings: { ...r.settings, iters: o.iters, reportEvery: o.iters },
      seed: 1,
      method: o.method,
      fisher: { ...DEFAULT_FISHER, k: o.k ?? DEFAULT_FISHER.k, disMode: 'qf' },
      done: o.from,
      signal: stop.signal,
      onUnitDone: async (_q, _done, report) => {
        reports.push(report);
        await o.onUnitDone?.();
        if (o.units !== undefined && reports.length >= o.units) stop.abort();
      },
    });
  } catch (e) {
    // The abort after the last wanted unit lands at the next unit's first step.
    if (!stop.signal.aborted) throw e;
  }
  return reports;
}

export interface FisherCost {
  unit: string;
  /** Seconds per optimisation step with k snapshots taken (the loss at rank k). */
  secondsPerStep: number;
  /** Seconds per Fisher snapshot (eig-fim: per refresh of its eigenpairs) over all `count` images (null: the head, which has none). */
  snapshotSeconds: number | null;
}

/**
 * A refreshed loss's costs per unit (FIMA-Q's snapshots, eig-fim's eigenpairs) from two runs of
 * a = k and b > a steps, the k refreshes taken at the first k steps of both: b - a steps make the
 * difference, and what run a spends beyond its a steps is its k refreshes. The pipelines are
 * compiled by a run of the first unit beforehand.
 */
export async function fisherCosts(ctx: GpuContext, r: ReconSetup, o: { method?: 'fimaq' | 'eig-fim'; k: number; b: number; from?: number; units?: number }): Promise<FisherCost[]> {
  const a = o.k;
  if (o.b <= a) throw new Error(`fisherCosts: b (${o.b}) must exceed k (${a})`);
  const base = { method: o.method ?? 'fimaq', k: o.k, from: o.from };
  await reconstructUnits(ctx, r, { ...base, iters: a, units: 1 });
  const runA = await reconstructUnits(ctx, r, { ...base, iters: a, units: o.units });
  const runB = await reconstructUnits(ctx, r, { ...base, iters: o.b, units: o.units });
  return runA.map((ra, i) => {
    const rb = runB[i];
    const step = (o.b * rb.secondsPerStep - a * ra.secondsPerStep) / (o.b - a);
    const snapshots = ra.snapshots?.snapshots ?? ra.eigen?.refreshes ?? 0;
    return { unit: ra.unit, secondsPerStep: step, snapshotSeconds: snapshots > 0 ? (a * ra.secondsPerStep - a * step) / snapshots : null };
  });
}

/**
 * Wall-clock seconds of each stage of a calibration (the patch embedding, each block, the head),
 * between its progress reports. Each search waits for its losses, so little GPU work crosses a
 * boundary: the float token forward recorded after the patch embedding's search counts in blocks.0.
 */
export async function calibrationStageSeconds(ctx: GpuContext, ckpt: VitCheckpoint, images: Float32Array, count: number, opts: Omit<CalibrateOptions, 'onProgress'>): Promise<Record<string, number>> {
  const stages: Record<string, number> = {};
  let stage = '';
  let started = 0;
  await ctx.sync();
  await calibrate(ctx, ckpt, images, count, {
    ...opts,
    onProgress: (next) => {
      const now = performance.now();
      if (stage) stages[stage] = (now - started) / 1000;
      stage = next;
      started = now;
    },
  });
  return stages;
}

export function median(values: number[]): number {
  const s = [...values].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
