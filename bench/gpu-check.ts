/**
 * The one-shot GPU check ([E9]) that bench/gpu-check.sh runs, bundled, on a lent GPU: the adapter;
 * matmul GFLOP/s at DeiT-S shapes (batch 32) against the card's fp32 peak from bench/gpus.json;
 * one reconstruction unit (blocks.0) of a random-weight deit_small_patch16_224-shaped model at
 * batch 32 with the mse loss and with FIMA-Q's (steps and Fisher snapshots told apart,
 * bench/timing.ts); one calibration unit at the paper's search settings; float32 and W4A4
 * integer forwards at batch 1 and 64. Times are for comparison with the dispatch census's
 * projection (bench/census.ts), which assumes the paper's settings (1024 images per snapshot).
 *
 * Every section runs on a context of its own, within a time budget checked before it starts
 * (and by the matmul loop); an error is recorded and the next section runs. The JSON is rewritten
 * after each section, so a run stopped from outside keeps what it measured. Progress on stderr.
 *
 * Run: bash bench/gpu-check.sh [--quick] (see there), or npx vite-node bench/gpu-check.ts --
 *   [--quick] [--budget SECONDS] [--gpu NAME (a bench/gpus.json entry)] [--out FILE]
 * --quick shrinks the model (32x32 images: 5 tokens, width 96, depth 2; the matmuls keep DeiT-S's
 * widths on one image), the batches and the iterations, as a smoke test on SwiftShader.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { IntVit } from '../src/inference/int-vit.js';
import { timeForwardMs } from '../src/inference/time-forward.js';
import type { VitCheckpoint } from '../src/model/checkpoint.js';
import { parseVitConfig } from '../src/model/config.js';
import { VitModel } from '../src/model/vit.js';
import { linear, matmul } from '../src/ops/matmul.js';
import { calibrate } from '../src/quant/calibrate.js';
import { PRESETS } from '../src/recon/settings.js';
import type { GpuContext } from '../src/runtime/context.js';
import { type NodeAcquireOptions, PACKAGE_ROOT, createNodeContext } from '../src/runtime/node-gpu.js';
import { configureVulkanEnv } from '../src/runtime/vulkan-env.js';
import { uniformTensor } from '../src/util/prng.js';
import { randomVitCheckpoint } from '../test/helpers/random-vit.js';
import { type Gpu, loadGpus } from './census-roofline.js';
import { type ReconSetup, calibratedModel, calibrationStageSeconds, fisherCosts, median, reconstructUnits } from './timing.js';
import { sourceCommit } from '../src/io/source-commit.js';

const driver = configureVulkanEnv('auto');
const argv = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const quick = argv.includes('--quick');
const budget = Number(arg('budget', quick ? '600' : '420'));
const started = performance.now();
const elapsed = () => (performance.now() - started) / 1000;
const log = (msg: string) => process.stderr.write(`[gpu-check ${elapsed().toFixed(0).padStart(4)} s] ${msg}\n`);

/** The sizes of each mode: full is the census's deit_small at the paper's settings, quick a smoke test. */
const M = quick
  ? { model: { img_size: 32, depth: 2, embed_dim: 96, num_heads: 3 }, matmulImages: 1, forwardBatches: [1, 8], forwardRepeats: [3, 2], matmulSeconds: 0.2,
      recon: { images: 16, batch: 8, mseIters: 4, k: 2, b: 10 }, calib: { model: { depth: 1 }, images: 8, eqN: 16, rounds: 1 } }
  : { model: {}, matmulImages: 32, forwardBatches: [1, 64], forwardRepeats: [10, 5], matmulSeconds: 0.3,
      recon: { images: 128, batch: 32, mseIters: 200, k: 5, b: 105 }, calib: { model: { depth: 1 }, images: PRESETS.paper.searchSize, eqN: PRESETS.paper.searchCandidates, rounds: PRESETS.paper.searchRounds } };

const deitConfig = (modelArgs: object) => JSON.stringify({ architecture: 'deit_small_patch16_224', model_args: modelArgs });
const randomImages = (c: VitCheckpoint['config'], count: number, stream: number) => uniformTensor(11, stream, count * c.inChans * c.imgSize ** 2, 0, 1.5);

/** The bench/gpus.json entry named by --gpu, or the one whose model number appears in the adapter's description. */
function peakGpu(text: string): { gpu: Gpu; matched_by: string } | null {
  let gpus: Gpu[];
  try {
    gpus = loadGpus().gpus;
  } catch {
    return null;
  }
  const chosen = arg('gpu', '');
  if (chosen) {
    const g = gpus.find((x) => x.name === chosen);
    if (!g) throw new Error(`gpu-check: --gpu ${chosen} is not in bench/gpus.json (${gpus.map((x) => x.name).join(', ')})`);
    return { gpu: g, matched_by: '--gpu' };
  }
  const words = (s: string) => s.toLowerCase().replace(/\(.*\)/g, '').split(/[^a-z0-9]+/).filter(Boolean);
  const have = new Set(words(text));
  // The model's words with a digit in them (H200, 4090, 4060, M2); adapters seldom say "SXM" or "Laptop".
  const g = gpus.find((x) => words(x.name).filter((w) => /\d/.test(w)).every((w) => have.has(w)));
  return g ? { gpu: g, matched_by: 'adapter description' } : null;
}

const record: Record<string, unknown> & { sections: Record<string, unknown>; skipped: { section: string; reason: string }[]; errors: { section: string; message: string }[] } = {
  command: `bash bench/gpu-check.sh ${argv.join(' ')}`.trim(),
  commit: process.env.FIMAQ_COMMIT || sourceCommit(),
  date: new Date().toISOString(),
  mode: quick ? 'quick' : 'full',
  node: process.version,
  vulkan: driver,
  gpu_name: process.env.FIMAQ_GPU_NAME || null,
  budget_seconds: budget,
  sections: {},
  skipped: [],
  errors: [],
};
let outFile = arg('out', '');

function write(): void {
  record.seconds_total = elapsed();
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, `${JSON.stringify(record, null, 2)}\n`);
}

async function section(name: string, body: (ctx: GpuContext) => Promise<unknown>, options: NodeAcquireOptions = {}): Promise<void> {
  if (elapsed() >= budget) {
    record.skipped.push({ section: name, reason: `time budget of ${budget} s spent` });
    log(`${name}: skipped (budget spent)`);
    write();
    return;
  }
  log(`${name}...`);
  const t0 = elapsed();
  let ctx: GpuContext | null = null;
  try {
    ctx = await createNodeContext(options);
    record.sections[name] = { ...((await body(ctx)) as object), seconds: elapsed() - t0 };
    log(`${name}: done in ${(elapsed() - t0).toFixed(1)} s`);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    record.errors.push({ section: name, message });
    log(`${name}: FAILED: ${message}`);
  } finally {
    await ctx?.dispose().catch(() => {});
  }
  write();
}

// ---- the adapter, and where the JSON goes --------------------------------------------------
const first = await createNodeContext({});
const adapter = first.adapter;
const limits = first.limits;
record.adapter = adapter;
record.features = [...first.features].sort();
record.language_features = [...first.languageFeatures].sort();
record.limits = Object.fromEntries(['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxStorageBuffersPerShaderStage'].map((k) => [k, limits[k as keyof GPUSupportedLimits]]));
await first.dispose();
const peak = peakGpu(`${adapter.vendor} ${adapter.architecture} ${adapter.device} ${adapter.description} ${record.gpu_name ?? ''}`);
record.peak = peak ? { gpu: peak.gpu.name, fp32_gflops: peak.gpu.fp32_tflops * 1000, matched_by: peak.matched_by } : 'unknown';
const stem = `gpu-check-${(adapter.vendor || 'unknown').replace(/\W+/g, '-')}${quick ? '-quick' : ''}.json`;
outFile ||= process.env.OUT ? join(process.env.OUT, stem) : quick ? join(tmpdir(), stem) : join(PACKAGE_ROOT, 'bench', 'results', stem);
log(`adapter: ${adapter.vendor} / ${adapter.architecture} / ${adapter.device} / ${adapter.description} (${adapter.backend})`);
log(`peak fp32: ${peak ? `${peak.gpu.fp32_tflops} TFLOP/s (${peak.gpu.name}, by ${peak.matched_by})` : 'unknown'}; writing ${outFile}`);
write();

const deit = randomVitCheckpoint(deitConfig(M.model), 7);
const c = deit.config;

// ---- matmul GFLOP/s at DeiT-S shapes (whatever the mode's model) -----------------------------
interface Shape { name: string; M: number; N: number; K: number; batch: number }
const S = parseVitConfig(deitConfig({}), 'deit_small_patch16_224');
const T = S.numTokens;
const rows = M.matmulImages * T;
const hd = S.embedDim / S.numHeads;
const shapes: Shape[] = [
  { name: 'qkv', M: rows, N: 3 * S.embedDim, K: S.embedDim, batch: 1 },
  { name: 'proj', M: rows, N: S.embedDim, K: S.embedDim, batch: 1 },
  { name: 'fc1', M: rows, N: S.mlpHidden, K: S.embedDim, batch: 1 },
  { name: 'fc2', M: rows, N: S.embedDim, K: S.mlpHidden, batch: 1 },
  { name: 'attention q.kT', M: T, N: T, K: hd, batch: M.matmulImages * S.numHeads },
  { name: 'attention attn.v', M: T, N: hd, K: T, batch: M.matmulImages * S.numHeads },
];

/** Milliseconds per product: repeated until matmulSeconds have passed (at least 3 times, at most 1000). */
async function timeMatmul(ctx: GpuContext, s: Shape): Promise<{ ms: number; reps: number }> {
  const a = ctx.upload(uniformTensor(3, 1, s.batch * s.M * s.K, -1, 2), [s.batch, s.M, s.K], 'a');
  const operation = () => {
    if (s.batch === 1) {
      const w = ctx.upload(uniformTensor(3, 2, s.N * s.K, -1, 2), [s.N, s.K], 'w');
      return { run: () => linear(ctx, a, w, null, s.name), release: () => w.release() };
    }
    const b = ctx.upload(uniformTensor(3, 2, s.batch * s.K * s.N, -1, 2), [s.batch, s.K, s.N], 'b');
    return {
      run: () => {
        const out = ctx.empty([s.batch, s.M, s.N], s.name);
        matmul(ctx, { M: s.M, N: s.N, K: s.K, batch: s.batch, a: { tensor: a, rowStride: s.K, colStride: 1, batchStride: s.M * s.K }, b: { tensor: b, rowStride: s.N, colStride: 1, batchStride: s.K * s.N }, c: { tensor: out, rowStride: s.N, batchStride: s.M * s.N } });
        return out;
      },
      release: () => b.release(),
    };
  };
  const op = operation();
  op.run().release();
  await ctx.sync();
  let reps = 0;
  const t0 = performance.now();
  // Groups of 1, 1, 2, 4, ... products, each waited for, so the clock stops when the GPU is done.
  while (reps < 1000 && (reps < 3 || performance.now() - t0 < 1000 * M.matmulSeconds) && elapsed() < budget) {
    const group = Math.max(1, reps);
    for (let i = 0; i < group; i++) op.run().release();
    reps += group;
    await ctx.sync();
  }
  const ms = (performance.now() - t0) / reps;
  op.release();
  a.release();
  return { ms, reps };
}

const matmulRows: Record<string, unknown>[] = [];
for (const boundsChecks of [true, false]) {
  await section(boundsChecks ? 'matmul' : 'matmul_bounds_checks_off', async (ctx) => {
    const out = [];
    for (const s of shapes) {
      const { ms, reps } = await timeMatmul(ctx, s);
      const gflop = (2 * s.batch * s.M * s.N * s.K) / 1e9;
      const gflops = gflop / (ms / 1000);
      const row = { ...s, gflop, ms, reps, gflops_per_second: gflops, fraction_of_peak: peak ? gflops / (peak.gpu.fp32_tflops * 1000) : null };
      out.push(row);
      if (boundsChecks) matmulRows.push(row);
      log(`  ${s.name} [${s.batch}x${s.M}x${s.K}]x[${s.K}x${s.N}]: ${ms.toFixed(3)} ms, ${gflops.toFixed(1)} GFLOP/s${peak ? ` (${((100 * gflops) / (peak.gpu.fp32_tflops * 1000)).toFixed(1)} % of peak)` : ''}`);
    }
    return { note: 'wall clock over repeated products (the first one untimed), synchronised per group', shapes: out };
  }, { boundsChecks });
}

// ---- the calibrated (round-to-nearest) model the forwards and the reconstruction start from --
let calibrated: ReconSetup['calibrated'] | null = null;
async function rtnModel(ctx: GpuContext): Promise<ReconSetup['calibrated']> {
  const count = 8;
  calibrated ??= calibratedModel(deit, await calibrate(ctx, deit, randomImages(c, count, 1), count, { method: 'rtn', wbits: 4, abits: 4 }), 'rtn', 4, 4, count);
  return calibrated;
}

// ---- forwards --------------------------------------------------------------------------------
await section('forward', async (ctx) => {
  const q = await rtnModel(ctx);
  const out = [];
  for (const [i, batch] of M.forwardBatches.entries()) {
    const images = randomImages(c, batch, 2);
    for (const [precision, model] of [['float32', () => VitModel.upload(ctx, deit)], ['W4A4 integer', () => IntVit.upload(ctx, q)]] as const) {
      const m = model();
      const times = await timeForwardMs(m, images, batch, M.forwardRepeats[i]);
      m.release();
      const med = median(times);
      out.push({ precision, batch, median_ms: med, images_per_second: (1000 * batch) / med, times_ms: times });
      log(`  ${precision} batch ${batch}: ${med.toFixed(2)} ms`);
    }
  }
  return { note: 'whole forwards as an application sees them: images uploaded, logits read back; median after one untimed forward', model: `deit_small-shaped (${c.imgSize}x${c.imgSize}, depth ${c.depth}, random weights), W4A4 from rtn`, rows: out };
});

// ---- reconstruction: blocks.0 with mse and with FIMA-Q ----------------------------------------
await section('reconstruction', async (ctx) => {
  const R = M.recon;
  const r: ReconSetup = { float: deit, calibrated: await rtnModel(ctx), images: randomImages(c, R.images, 3), count: R.images, settings: { ...PRESETS.paper, batch: R.batch, calibSize: R.images } };
  const one = { from: 1, units: 1 };
  // The first run compiles the pipelines.
  await reconstructUnits(ctx, r, { method: 'mse', iters: 2, ...one });
  const [mse] = await reconstructUnits(ctx, r, { method: 'mse', iters: R.mseIters, ...one });
  log(`  mse: ${(1000 * mse.secondsPerStep).toFixed(2)} ms/step`);
  const [fimaq] = await fisherCosts(ctx, r, { k: R.k, b: R.b, ...one });
  const snapshot = fimaq.snapshotSeconds ?? Number.NaN;
  log(`  fimaq: ${(1000 * fimaq.secondsPerStep).toFixed(2)} ms/step; snapshot ${snapshot.toFixed(3)} s over ${R.images} images`);
  return {
    note: `unit blocks.0 of a depth-${c.depth} model (the snapshot's float tail runs the ${c.depth - 1} blocks after it and the head), W4A4 from rtn; fimaq: k snapshots at the first steps, step and snapshot told apart by runs of k and ${R.b} steps`,
    unit: mse.unit,
    images: R.images,
    batch: R.batch,
    mse: { iters: R.mseIters, seconds_per_step: mse.secondsPerStep },
    fimaq: { k: R.k, iters: [R.k, R.b], seconds_per_step: fimaq.secondsPerStep, step_vs_mse: fimaq.secondsPerStep / mse.secondsPerStep },
    fisher_snapshot: { images: R.images, seconds: snapshot, seconds_per_image: snapshot / R.images, seconds_1024_images_scaled: (1024 * snapshot) / R.images },
  };
});

// ---- one calibration unit --------------------------------------------------------------------
await section('calibration', async (ctx) => {
  const C = M.calib;
  const ckpt = randomVitCheckpoint(deitConfig({ ...M.model, ...C.model }), 8);
  const images = randomImages(ckpt.config, C.images, 4);
  const options = { method: 'calib' as const, wbits: 4, abits: 4, eqN: C.eqN, rounds: C.rounds };
  // A small search first compiles the pipelines.
  await calibrationStageSeconds(ctx, ckpt, images.subarray(0, 2 * ckpt.config.inChans * ckpt.config.imgSize ** 2), 2, { ...options, eqN: 16, rounds: 1 });
  const stages = await calibrationStageSeconds(ctx, ckpt, images, C.images, options);
  log(`  blocks.0: ${stages['blocks.0'].toFixed(2)} s`);
  return {
    note: 'wall clock between the calibration progress reports of a depth-1 model; W4A4 with RepQ-ViT folding',
    images: C.images,
    candidates: C.eqN,
    rounds: C.rounds,
    unit: 'blocks.0',
    unit_seconds: stages['blocks.0'],
    stages,
  };
});

log(`done in ${elapsed().toFixed(0)} s; wrote ${outFile}`);
const summary = matmulRows.map((m) => `${m.name} ${(m.gflops_per_second as number).toPrecision(3)}`).join(', ');
console.log(`gpu-check (${record.mode}) on ${adapter.vendor} ${adapter.architecture} (${adapter.description}): matmul GFLOP/s ${summary}; errors ${record.errors.length}, skipped ${record.skipped.length}`);
console.log(`wrote ${outFile}`);
write();
if (record.errors.length > 0) process.exitCode = 1;
