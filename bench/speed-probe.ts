/**
 * One timing of the demo's calibration search (quick preset: 8 images, 32 candidates, 1 round) and
 * of reconstruction steps of its blocks.0 (MSE and FIMA-Q, batch 8), with the runtime's defaults,
 * printed as one JSON line. bench/before-after.ts runs this same file in two source trees (it
 * uses only APIs both have), alternately, so the two are timed under the same load.
 */
import { join } from 'node:path';
import { openDataset } from '../src/data/open.js';
import { loadVitCheckpoint } from '../src/io/checkpoint-node.js';
import { calibrate } from '../src/quant/calibrate.js';
import { seededIndices } from '../src/quant/calibration-set.js';
import { DEFAULT_FISHER } from '../src/recon/losses.js';
import { type ReconMethod, reconstruct } from '../src/recon/reconstruct.js';
import { PRESETS } from '../src/recon/settings.js';
import { PACKAGE_ROOT, createNodeContext } from '../src/runtime/node-gpu.js';
import { configureVulkanEnv } from '../src/runtime/vulkan-env.js';

configureVulkanEnv('auto');
const STEPS = 40;
const RECON_IMAGES = 64;
const s = PRESETS.quick;
const ckpt = await loadVitCheckpoint(join(PACKAGE_ROOT, 'demo', 'fashion-vit'), 'the benchmark');
const data = await openDataset('fashion-mnist:train', ckpt.config.preprocess);
const { pixels } = await data.batch(seededIndices(data.count, RECON_IMAGES, 3407));
const searchPixels = pixels.subarray(0, (pixels.length / RECON_IMAGES) * s.searchSize);
const ctx = await createNodeContext({});

// Calibration: seconds per unit, from one progress report to the next (after a warm-up run that compiles).
const options = { method: 'calib' as const, wbits: 4, abits: 4, eqN: s.searchCandidates, rounds: s.searchRounds };
await calibrate(ctx, ckpt, searchPixels, s.searchSize, options);
const calibSeconds: Record<string, number> = {};
let last = performance.now();
let stage = '';
const cal = await calibrate(ctx, ckpt, searchPixels, s.searchSize, {
  ...options,
  onProgress: (next) => {
    const now = performance.now();
    if (stage) calibSeconds[stage] = (calibSeconds[stage] ?? 0) + (now - last) / 1000;
    [stage, last] = [next, now];
  },
});
await ctx.sync();
if (stage) calibSeconds[stage] = (calibSeconds[stage] ?? 0) + (performance.now() - last) / 1000;

// Reconstruction: blocks.0 only (the patch embedding counts as done), seconds per step.
const info = { method: 'calib', wbits: 4, abits: 4, seed: 0, calibSize: RECON_IMAGES, calibData: 'bench', toolVersion: 'bench' };
const calibrated = { ...cal.quantized, configText: ckpt.configText, info };
async function stepSeconds(method: ReconMethod): Promise<number> {
  const stop = new AbortController();
  let perStep = NaN;
  try {
    await reconstruct(ctx, { ...ckpt, weights: cal.reparameterized }, calibrated, pixels, RECON_IMAGES, {
      settings: { ...s, iters: STEPS, calibSize: RECON_IMAGES, reportEvery: STEPS },
      seed: 1,
      method,
      fisher: { ...DEFAULT_FISHER, k: 1, disMode: 'qf' },
      done: 1,
      signal: stop.signal,
      onUnitDone: async (_q, _done, report) => {
        perStep = report.secondsPerStep;
        stop.abort();
      },
    });
  } catch (e) {
    if (!stop.signal.aborted) throw e;
  }
  return perStep;
}
const mse = await stepSeconds('mse');
const fimaq = await stepSeconds('fimaq');
process.stdout.write(`${JSON.stringify({ adapter: ctx.adapter, calibration_seconds: calibSeconds, recon_step_seconds: { mse, fimaq } })}\n`);
await ctx.dispose();
