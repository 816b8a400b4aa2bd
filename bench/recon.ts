/**
 * Block reconstruction cost: seconds per optimisation step for each unit of the demo ViT, and the
 * share of a step's GPU time spent in each kernel (timestamp queries where the adapter has them,
 * else per-dispatch wall clock), isolated from data preparation by timing runs of 2 and 6 steps.
 * Each step is also timed with bounds checks off (`boundsChecks: false`, Dawn's disable_robustness)
 * and the ratio reported. FIMA-Q's steps (the DPLR loss) and its Fisher snapshots are timed apart
 * (bench/timing.ts, fisherCosts: k = 2 snapshots at the first steps, runs of 2 and 2 + N steps), and
 * eig-fim's steps and refreshes (per-image gradients, subspace iteration) alike, in the same run.
 * Writes bench/results/recon-<adapter>.json and prints a table.
 * Run: npm run bench:recon [-- --iters N]
 *
 * Quantizers come from round-to-nearest initialisation: the step cost does not depend on them.
 * On SwiftShader the absolute numbers describe this CPU, not a GPU; the shares carry over.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadVitCheckpoint } from '../src/io/checkpoint-node.js';
import { calibrate } from '../src/quant/calibrate.js';
import { seededIndices } from '../src/quant/calibration-set.js';
import { openDataset } from '../src/data/open.js';
import { unitNames } from '../src/recon/unit-graph.js';
import { PRESETS } from '../src/recon/settings.js';
import type { GpuContext } from '../src/runtime/context.js';
import { PACKAGE_ROOT, createNodeContext } from '../src/runtime/node-gpu.js';
import { configureVulkanEnv } from '../src/runtime/vulkan-env.js';
import { type ReconSetup, calibratedModel, fisherCosts, reconstructUnits } from './timing.js';
import { sourceCommit } from '../src/io/source-commit.js';

configureVulkanEnv('auto');
const itersArg = process.argv.indexOf('--iters');
const iters = itersArg > 0 ? Number(process.argv[itersArg + 1]) : 10;
const images = 64;

const ckpt = await loadVitCheckpoint(join(PACKAGE_ROOT, 'demo', 'fashion-vit'), 'the benchmark');
const data = await openDataset('fashion-mnist:train', ckpt.config.preprocess);
const batch = await data.batch(seededIndices(data.count, images, 3407));
const settings = { ...PRESETS.paper, iters, calibSize: images, reportEvery: iters };

async function setup(ctx: GpuContext): Promise<ReconSetup> {
  const cal = await calibrate(ctx, ckpt, batch.pixels, images, { method: 'rtn', wbits: 4, abits: 4 });
  return { float: { ...ckpt, weights: cal.reparameterized }, calibrated: calibratedModel(ckpt, cal, 'rtn', 4, 4, images), images: batch.pixels, count: images, settings };
}

async function run(ctx: GpuContext, steps: number, onUnitDone?: () => Promise<void>) {
  return reconstructUnits(ctx, await setup(ctx), { method: 'mse', iters: steps, onUnitDone });
}

/** Per unit, per kernel: GPU milliseconds of one optimisation step. */
async function kernelMsPerStep(): Promise<{ source: string; perUnit: Record<string, Record<string, number>> }> {
  // Each unit's window (its data preparation and its steps) is timed in runs of a and b steps;
  // the preparation is the same in both, so the difference is b - a steps.
  const [a, b] = [2, 6];
  const windows: Record<string, number>[][] = [];
  let source = '';
  for (const steps of [a, b]) {
    const profiled = await createNodeContext({ profile: true, boundsChecks: true });
    const perUnit: Record<string, number>[] = [];
    await profiled.kernelTimings();
    await run(profiled, steps, async () => {
      perUnit.push(Object.fromEntries((await profiled.kernelTimings()).map((t) => [t.name, t.milliseconds])));
    });
    source = profiled.timingSource;
    await profiled.dispose();
    windows.push(perUnit);
  }
  const names = unitNames(ckpt.config);
  const perUnit: Record<string, Record<string, number>> = {};
  names.forEach((unit, u) => {
    const kernels = new Set([...Object.keys(windows[0][u]), ...Object.keys(windows[1][u])]);
    const ms: Record<string, number> = {};
    for (const k of kernels) ms[k] = Math.max(0, ((windows[1][u][k] ?? 0) - (windows[0][u][k] ?? 0)) / (b - a));
    perUnit[unit] = ms;
  });
  return { source, perUnit };
}

const ctx = await createNodeContext({ boundsChecks: true });
const adapter = ctx.adapter;
const timed = await run(ctx, iters);
// On the context the mse run compiled its pipelines on.
const fimaqK = 2;
const fimaq = await fisherCosts(ctx, await setup(ctx), { k: fimaqK, b: fimaqK + iters });
const eig = await fisherCosts(ctx, await setup(ctx), { method: 'eig-fim', k: fimaqK, b: fimaqK + iters });
await ctx.dispose();
const unchecked = await createNodeContext({ boundsChecks: false });
const timedUnchecked = await run(unchecked, iters);
await unchecked.dispose();
const { source, perUnit } = await kernelMsPerStep();

const units = timed.map((r, i) => {
  const ms = perUnit[r.unit];
  const total = Object.values(ms).reduce((x, y) => x + y, 0);
  const share = Object.fromEntries(Object.entries(ms).sort((x, y) => y[1] - x[1]).filter(([, v]) => v > 0).map(([k, v]) => [k, v / total]));
  const secondsUnchecked = timedUnchecked[i].secondsPerStep;
  const f = fimaq[i];
  const e = eig[i];
  return {
    unit: r.unit,
    seconds_per_step: r.secondsPerStep,
    seconds_per_step_bounds_checks_off: secondsUnchecked,
    speedup_bounds_checks_off: r.secondsPerStep / secondsUnchecked,
    gpu_ms_per_step: total,
    kernel_share: share,
    fimaq_seconds_per_step: f.secondsPerStep,
    fimaq_step_vs_mse: f.secondsPerStep / r.secondsPerStep,
    fisher_snapshot_seconds: f.snapshotSeconds,
    eig_fim_seconds_per_step: e.secondsPerStep,
    eig_fim_step_vs_fimaq: e.secondsPerStep / f.secondsPerStep,
    eig_fim_refresh_seconds: e.snapshotSeconds,
    eig_fim_refresh_vs_snapshot: e.snapshotSeconds !== null && f.snapshotSeconds ? e.snapshotSeconds / f.snapshotSeconds : null,
  };
});
const result = {
  command: `npm run bench:recon -- --iters ${iters}`,
  commit: sourceCommit(),
  date: new Date().toISOString(),
  adapter,
  timing_source: source,
  model: 'demo (fashion-vit), W4A4, batch 32',
  iters,
  fimaq: {
    note: `fimaq_seconds_per_step: a step of the DPLR loss at rank k = ${fimaqK}; fisher_snapshot_seconds: one snapshot (forward and backward of the float tail) over all ${images} images, from runs of ${fimaqK} and ${fimaqK + iters} steps with the ${fimaqK} snapshots at their first steps; the head has none (KL loss)`,
    k: fimaqK,
    images,
  },
  eig_fim: {
    note: `eig_fim_seconds_per_step: a step of the eig-fim loss at rank k = ${fimaqK}; eig_fim_refresh_seconds: one refresh (every image's gradient through the float tail, F's diagonal, ${fimaqK} + 8 directions of subspace iteration) over all ${images} images, timed as fimaq's in the same run`,
  },
  units,
};
for (const u of units) {
  const top = Object.entries(u.kernel_share).slice(0, 4).map(([k, v]) => `${k} ${(100 * v).toFixed(0)}%`).join(', ');
  const snap = u.fisher_snapshot_seconds === null ? '' : `, snapshot ${u.fisher_snapshot_seconds.toFixed(2)} s`;
  console.log(`${u.unit.padEnd(12)} ${(1000 * u.seconds_per_step).toFixed(1)} ms/step (bounds checks off: ${u.speedup_bounds_checks_off.toFixed(2)}x faster; GPU ${u.gpu_ms_per_step.toFixed(1)} ms); ${top}`);
  console.log(`${''.padEnd(12)} fimaq ${(1000 * u.fimaq_seconds_per_step).toFixed(1)} ms/step (${u.fimaq_step_vs_mse.toFixed(2)}x mse)${snap}`);
  const refresh = u.eig_fim_refresh_vs_snapshot === null ? '' : `, refresh ${u.eig_fim_refresh_vs_snapshot.toFixed(2)}x a snapshot`;
  console.log(`${''.padEnd(12)} eig-fim ${(1000 * u.eig_fim_seconds_per_step).toFixed(1)} ms/step (${u.eig_fim_step_vs_fimaq.toFixed(2)}x fimaq)${refresh}`);
}
console.log(`adapter: ${adapter.vendor} ${adapter.architecture} (${adapter.description}), timing: ${source}`);
const dir = join(PACKAGE_ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `recon-${(adapter.vendor || 'unknown').replace(/\W+/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote ${file}`);
