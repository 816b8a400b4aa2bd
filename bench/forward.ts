/**
 * Float forward throughput and where its time goes, per kernel (timestamp queries where the adapter
 * has them). Models: the demo ViT and a random-weight deit_tiny_patch16_224-shaped model.
 * The demo at batch 32 is also timed with bounds checks off (Dawn's disable_robustness).
 * Writes bench/results/forward-<adapter>.json and prints a table. Run: npm run bench [-- --quick]
 *
 * On SwiftShader the absolute numbers describe this CPU, not a GPU; the per-kernel shares and the
 * ratios between batch sizes are what carry over.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadVitCheckpoint } from '../src/io/checkpoint-node.js';
import type { VitCheckpoint } from '../src/model/checkpoint.js';
import { VitModel, forwardFlops } from '../src/model/vit.js';
import { PACKAGE_ROOT, createNodeContext } from '../src/runtime/node-gpu.js';
import { uniformTensor } from '../src/util/prng.js';
import { configureVulkanEnv } from '../src/runtime/vulkan-env.js';
import { randomVitCheckpoint } from '../test/helpers/random-vit.js';

const quick = process.argv.includes('--quick');
configureVulkanEnv('auto');

interface Row {
  model: string;
  batch: number;
  bounds_checks: boolean;
  median_ms: number;
  images_per_second: number;
  gflops_per_second: number;
  kernel_share: Record<string, number>;
}

async function measure(name: string, ckpt: VitCheckpoint, batch: number, repeats: number, boundsChecks: boolean): Promise<Row> {
  const c = ckpt.config;
  const images = uniformTensor(1, 0, batch * c.inChans * c.imgSize * c.imgSize, 0, 1);
  const ctx = await createNodeContext({ boundsChecks });
  const model = VitModel.upload(ctx, ckpt);
  const input = ctx.upload(images, [batch, c.inChans, c.imgSize, c.imgSize], 'images');
  model.forward(input).release();
  await ctx.sync();
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    model.forward(input).release();
    await ctx.sync();
    times.push(performance.now() - t0);
  }
  await ctx.dispose();
  const profiled = await createNodeContext({ profile: true, boundsChecks });
  const pModel = VitModel.upload(profiled, ckpt);
  const pInput = profiled.upload(images, [batch, c.inChans, c.imgSize, c.imgSize], 'images');
  pModel.forward(pInput).release();
  const timings = await profiled.kernelTimings();
  await profiled.dispose();
  const total = timings.reduce((a, t) => a + t.milliseconds, 0);
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  return {
    model: name,
    batch,
    bounds_checks: boundsChecks,
    median_ms: median,
    images_per_second: (batch * 1000) / median,
    gflops_per_second: (forwardFlops(c) * batch) / median / 1e6,
    kernel_share: Object.fromEntries(timings.map((t) => [t.name, t.milliseconds / total])),
  };
}

const demo = await loadVitCheckpoint(join(PACKAGE_ROOT, 'demo', 'fashion-vit'), 'the benchmark');
const deit = randomVitCheckpoint(JSON.stringify({ architecture: 'deit_tiny_patch16_224' }), 7);
const plan: [string, VitCheckpoint, number, number, boolean][] = [
  ['demo (fashion-vit)', demo, 1, quick ? 3 : 10, true],
  ['demo (fashion-vit)', demo, 32, quick ? 2 : 5, true],
  ['demo (fashion-vit)', demo, 32, quick ? 2 : 5, false],
  ['deit_tiny-shaped', deit, 1, quick ? 1 : 3, true],
];
if (!quick) plan.push(['deit_tiny-shaped', deit, 8, 2, true]);
const rows: Row[] = [];
for (const [name, ckpt, batch, repeats, boundsChecks] of plan) {
  const row = await measure(name, ckpt, batch, repeats, boundsChecks);
  rows.push(row);
  const top = Object.entries(row.kernel_share).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, v]) => `${k} ${(100 * v).toFixed(0)}%`).join(', ');
  console.log(`${name.padEnd(20)} batch ${String(batch).padStart(2)}${boundsChecks ? '' : ', bounds checks off'}: ${row.median_ms.toFixed(1)} ms, ${row.images_per_second.toFixed(1)} img/s, ${row.gflops_per_second.toFixed(2)} GFLOP/s; ${top}`);
}
const ctx = await createNodeContext({});
const adapter = ctx.adapter;
const timing = ctx.features.has('timestamp-query') ? 'timestamp-query' : 'wall-clock';
await ctx.dispose();
const out = { bench: 'forward', date: new Date().toISOString(), adapter, kernel_timing: timing, rows };
mkdirSync(join(PACKAGE_ROOT, 'bench', 'results'), { recursive: true });
const file = join(PACKAGE_ROOT, 'bench', 'results', `forward-${adapter.architecture || adapter.vendor || 'unknown'}.json`);
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
console.log(`adapter: ${adapter.vendor} ${adapter.architecture} (${adapter.description}); wrote ${file}`);
