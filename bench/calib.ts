/**
 * Calibration search cost (stage A) per unit: wall-clock seconds of the patch embedding, each block
 * and the head, on the demo ViT at a preset's search settings (quick: 8 images, 32 candidates,
 * 1 round; paper: 128 images, 128 candidates, 3 rounds), W4A4. The first run compiles the
 * pipelines and is reported apart; the units' seconds are medians of the runs after it.
 * Writes bench/results/calib-<adapter>[-paper].json and prints a table.
 * Run: npm run bench:calib [-- --preset quick|paper] [--runs N (default 2)]
 *
 * On SwiftShader the absolute numbers describe this CPU, not a GPU.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDataset } from '../src/data/open.js';
import { loadVitCheckpoint } from '../src/io/checkpoint-node.js';
import { seededIndices } from '../src/quant/calibration-set.js';
import { PRESETS, type PresetName } from '../src/recon/settings.js';
import { PACKAGE_ROOT, createNodeContext } from '../src/runtime/node-gpu.js';
import { configureVulkanEnv } from '../src/runtime/vulkan-env.js';
import { calibrationStageSeconds, median } from './timing.js';
import { sourceCommit } from '../src/io/source-commit.js';

configureVulkanEnv('auto');
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const preset = arg('preset', 'quick') as PresetName;
if (!(preset in PRESETS)) throw new Error(`bench:calib: --preset is quick or paper, not ${preset}`);
const runs = Number(arg('runs', '2'));
const s = PRESETS[preset];
const search = { images: s.searchSize, candidates: s.searchCandidates, rounds: s.searchRounds };

const ckpt = await loadVitCheckpoint(join(PACKAGE_ROOT, 'demo', 'fashion-vit'), 'the benchmark');
const data = await openDataset('fashion-mnist:train', ckpt.config.preprocess);
const { pixels } = await data.batch(seededIndices(data.count, search.images, 3407));
const ctx = await createNodeContext({});
const options = { method: 'calib' as const, wbits: 4, abits: 4, eqN: search.candidates, rounds: search.rounds };

const first = await calibrationStageSeconds(ctx, ckpt, pixels, search.images, options);
const timed: Record<string, number>[] = [];
for (let r = 0; r < runs; r++) timed.push(await calibrationStageSeconds(ctx, ckpt, pixels, search.images, options));
const adapter = ctx.adapter;
await ctx.dispose();

const units = Object.keys(first).map((unit) => {
  const times = timed.map((t) => t[unit]);
  return { unit, seconds: median(times), seconds_first_run: first[unit], times };
});
const total = units.reduce((a, u) => a + u.seconds, 0);
const record = {
  command: `npm run bench:calib -- --preset ${preset} --runs ${runs}`,
  commit: sourceCommit(),
  date: new Date().toISOString(),
  adapter,
  model: 'demo (fashion-vit), W4A4, RepQ-ViT folding',
  preset,
  search,
  note: 'seconds: median over the runs after the first (which compiles the pipelines); a unit ends at the next progress report, so the float token forward after the patch embedding counts in blocks.0',
  seconds_total: total,
  units,
};
for (const u of units) console.log(`${u.unit.padEnd(12)} ${u.seconds.toFixed(2)} s (first run ${u.seconds_first_run.toFixed(2)} s)`);
console.log(`total ${total.toFixed(2)} s; search on ${search.images} images, ${search.candidates} candidates, ${search.rounds} round(s)`);
console.log(`adapter: ${adapter.vendor} ${adapter.architecture} (${adapter.description})`);
const dir = join(PACKAGE_ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `calib-${(adapter.vendor || 'unknown').replace(/\W+/g, '-')}${preset === 'quick' ? '' : `-${preset}`}.json`);
writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
console.log(`wrote ${file}`);
