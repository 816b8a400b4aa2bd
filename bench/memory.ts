/**
 * The memory estimate (runMemory: what `fimaq info` prints and quantize checks before a run)
 * against the runtime's allocation counter (every buffer the pool holds, in use or pooled) at the
 * peak of each phase of real quantize runs:
 *   - the demo model and the demo Swin at the quick preset (256 images, search on 8), FIMA-Q and BRECQ;
 *   - a random-weight deit_small_patch16_224-shaped model cut to --depth blocks (default 2), at
 *     small settings (search on 2 images with 16 candidates, 16 images, batch 4), FIMA-Q and BRECQ.
 * Iterations are cut to 2 per unit: a step allocates the same at every iteration, and Fisher
 * snapshots are taken at the first steps (k = 2, dis-mode qf) so that they still happen.
 * Writes bench/results/memory-<adapter>.json and prints a markdown table.
 *
 * Run: npm run bench:memory [-- --depth 2]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint } from '../src/io/checkpoint-node.js';
import type { ModelCheckpoint } from '../src/model/checkpoint.js';
import type { CalibrationImages, Method } from '../src/pipeline/quantize.js';
import { DEFAULT_FISHER } from '../src/recon/losses.js';
import { PRESETS, type ReconSettings } from '../src/recon/settings.js';
import { PACKAGE_ROOT, createNodeContext } from '../src/runtime/node-gpu.js';
import { uniformTensor } from '../src/util/prng.js';
import { phasePeaks } from '../test/helpers/phase-peaks.js';
import { sourceCommit } from '../src/io/source-commit.js';
import { randomVitCheckpoint } from '../test/helpers/random-vit.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const depth = Number(arg('depth', '2'));
// Taken before the run: the record names the code that was measured, whatever changes meanwhile.
const commit = sourceCommit();
const ctx = await createNodeContext();
const fisher = { ...DEFAULT_FISHER, k: 2, disMode: 'qf' as const };

function randomImages(ckpt: ModelCheckpoint, count: number): CalibrationImages {
  const c = ckpt.config;
  return { pixels: uniformTensor(11, 1, count * c.inChans * c.imgSize ** 2, 0, 1.5), count, name: 'random', selection: 'seeded', indices: [] };
}

interface Row {
  model: string;
  method: Method;
  settings: Pick<ReconSettings, 'calibSize' | 'searchSize' | 'searchCandidates' | 'batch'>;
  estimated: { calibration: number; reconstruction: number; calibration_at: string; reconstruction_at: string };
  allocated: { calibration: number; reconstruction: number };
  ratio: { calibration: number; reconstruction: number };
  seconds: number;
}

async function measure(model: string, ckpt: ModelCheckpoint, method: Method, settings: ReconSettings): Promise<Row> {
  const calibration = randomImages(ckpt, settings.calibSize);
  const started = performance.now();
  const { calibration: calib, reconstruction: recon, estimate } = await phasePeaks(ctx, { checkpoint: ckpt, calibration, method, wbits: 4, abits: 4, seed: 1, settings, fisher, toolVersion: 'bench' });
  const r = estimate.reconstruction;
  if (!r) throw new Error('bench:memory: a reconstruction method has a reconstruction estimate');
  const row: Row = {
    model,
    method,
    settings: { calibSize: settings.calibSize, searchSize: settings.searchSize, searchCandidates: settings.searchCandidates, batch: settings.batch },
    estimated: { calibration: estimate.calibration.peakBytes, reconstruction: r.peakBytes, calibration_at: estimate.calibration.peakAt, reconstruction_at: r.peakAt },
    allocated: { calibration: calib, reconstruction: recon },
    ratio: { calibration: estimate.calibration.peakBytes / calib, reconstruction: r.peakBytes / recon },
    seconds: (performance.now() - started) / 1000,
  };
  console.log(`${model} ${method}: calibration ${row.ratio.calibration.toFixed(3)}, reconstruction ${row.ratio.reconstruction.toFixed(3)} (${row.seconds.toFixed(0)} s)`);
  return row;
}

const demo = await loadCheckpoint(join(PACKAGE_ROOT, 'demo', 'fashion-vit'));
const swin = await loadCheckpoint(join(PACKAGE_ROOT, 'demo', 'fashion-swin'));
const deit = randomVitCheckpoint(JSON.stringify({ architecture: 'deit_small_patch16_224', model_args: { depth } }), 7);
const quick = { ...PRESETS.quick, iters: 2 };
const small = { ...PRESETS.quick, iters: 2, calibSize: 16, searchSize: 2, searchCandidates: 16, batch: 4 };
const rows: Row[] = [];
for (const method of ['fimaq', 'brecq-fim'] as const) rows.push(await measure('demo (fashion-vit)', demo, method, quick));
for (const method of ['fimaq', 'brecq-fim'] as const) rows.push(await measure('demo Swin (fashion-swin)', swin, method, quick));
for (const method of ['fimaq', 'brecq-fim'] as const) rows.push(await measure(`deit_small-shaped, depth ${depth}`, deit, method, small));

const adapter = ctx.adapter;
const record = {
  command: `npm run bench:memory -- --depth ${depth}`,
  commit,
  date: new Date().toISOString(),
  adapter,
  note: 'estimated / allocated peak bytes per phase; allocated = every GPU buffer the runtime holds (in use or pooled); W4A4, iterations cut to 2 per unit, k = 2 snapshots at the first steps',
  rows,
};
const dir = join(PACKAGE_ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `memory-${(adapter.vendor || 'unknown').replace(/\W+/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
const mib = (b: number) => (b / 2 ** 20).toFixed(1);
console.log('\n| model | method | images (search) | calibration: estimated / allocated MiB | reconstruction: estimated / allocated MiB |');
console.log('|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.model} | ${r.method} | ${r.settings.calibSize} (${r.settings.searchSize}) | ${mib(r.estimated.calibration)} / ${mib(r.allocated.calibration)} (${r.ratio.calibration.toFixed(2)}) | ${mib(r.estimated.reconstruction)} / ${mib(r.allocated.reconstruction)} (${r.ratio.reconstruction.toFixed(2)}) |`);
}
console.log(`\nadapter: ${adapter.vendor} ${adapter.architecture} (${adapter.description}); wrote ${file}`);
await ctx.dispose();
