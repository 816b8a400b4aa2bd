/**
 * The memory estimate (runMemory, what `fimaq info` prints and quantize checks before a run)
 * against the runtime's allocation counter: every buffer the pool holds, in use or pooled, at the
 * peak of each phase of a real run, for a ViT and for Swins (windows with and without padding).
 * The deit_small-shaped case is in the optional slow suite (FIMAQ_SLOW_TESTS=1); bench/memory.ts
 * records both ViTs at larger settings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/io/run-store.js';
import type { ModelCheckpoint } from '../../src/model/checkpoint.js';
import { memoryFitProblems, runMemory } from '../../src/pipeline/model-info.js';
import { type CalibrationImages, type Method, quantizeModel } from '../../src/pipeline/quantize.js';
import { DEFAULT_FISHER } from '../../src/recon/losses.js';
import { PRESETS, type ReconSettings } from '../../src/recon/settings.js';
import type { GpuContext } from '../../src/runtime/context.js';
import { createNodeContext } from '../../src/runtime/node-gpu.js';
import { loadCheckpoint, loadVitCheckpoint } from '../../src/io/checkpoint-node.js';
import { uniformTensor } from '../../src/util/prng.js';
import { phasePeaks } from '../helpers/phase-peaks.js';
import { randomSwinCheckpoint, randomVitCheckpoint } from '../helpers/random-vit.js';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await createNodeContext();
});
afterAll(async () => ctx?.dispose());

function images(ckpt: ModelCheckpoint, count: number, seed: number): CalibrationImages {
  const c = ckpt.config;
  return { pixels: uniformTensor(seed, 1, count * c.inChans * c.imgSize ** 2, 0, 1.5), count, name: 'random', selection: 'seeded', indices: [] };
}

/** The measured peak of calibration and of reconstruction of a run, and its estimate. */
async function measure(ckpt: ModelCheckpoint, method: Method, wbits: number, settings: ReconSettings) {
  const calibration = images(ckpt, settings.calibSize, 5);
  const peaks = await phasePeaks(ctx, { checkpoint: ckpt, calibration, method, wbits, abits: wbits, seed: 1, settings, fisher: { ...DEFAULT_FISHER, k: 2 }, toolVersion: 'test' });
  return { estimate: peaks.estimate, calib: peaks.calibration, recon: peaks.reconstruction };
}

function expectWithin(estimate: number, measured: number, what: string) {
  const ratio = estimate / measured;
  expect(ratio, `${what}: estimated ${estimate} B, allocated ${measured} B`).toBeGreaterThan(0.8);
  expect(ratio, `${what}: estimated ${estimate} B, allocated ${measured} B`).toBeLessThan(1.2);
}

/** A run's calibration and reconstruction peaks each within 20 % of their estimates. */
async function expectPhasesWithin(ckpt: ModelCheckpoint, method: Method, wbits: number, settings: ReconSettings) {
  const m = await measure(ckpt, method, wbits, settings);
  expectWithin(m.estimate.calibration.peakBytes, m.calib, 'calibration');
  expectWithin(m.estimate.reconstruction!.peakBytes, m.recon, 'reconstruction');
}

describe('memory estimate against the allocation counter', () => {
  it('demo model, FIMA-Q: calibration search and reconstruction each within 20 %', async () => {
    const demo = await loadVitCheckpoint('demo/fashion-vit', 'the test');
    const settings = { ...PRESETS.quick, iters: 2, calibSize: 48, searchSize: 8, searchCandidates: 16, batch: 12 };
    await expectPhasesWithin(demo, 'fimaq', 4, settings);
  }, 300_000);

  it('demo Swin, FIMA-Q: calibration search and reconstruction each within 20 %', async () => {
    const swin = await loadCheckpoint('demo/fashion-swin');
    const settings = { ...PRESETS.quick, iters: 2, calibSize: 24, searchSize: 4, searchCandidates: 16, batch: 8 };
    await expectPhasesWithin(swin, 'fimaq', 4, settings);
  }, 300_000);

  // BRECQ keeps every image's gradient; eig-fim too, and iterates on its subspace.
  for (const method of ['brecq-fim', 'eig-fim'] as const) {
    it(`Swin with padded windows (grid 12, window 5), ${method}: each phase within 20 %`, async () => {
      const config = { img_size: 24, patch_size: 2, window_size: 5, in_chans: 3, num_classes: 5, embed_dim: 16, depths: [2, 1], num_heads: [2, 4] };
      const swin = randomSwinCheckpoint(JSON.stringify({ architecture: 'swin_tiny_patch4_window7_224', num_classes: 5, model_args: config }), 3);
      expect(swin.config.stages[0]!.windowing[0].padded).toBe(15);
      const settings = { ...PRESETS.quick, iters: 2, calibSize: 20, searchSize: 6, searchCandidates: 16, batch: 8 };
      await expectPhasesWithin(swin, method, 3, settings);
    }, 300_000);
  }

  // About three minutes on SwiftShader (the Gram-form weight search alone is O·C·K² per linear):
  // run with FIMAQ_SLOW_TESTS=1.
  it.runIf(process.env.FIMAQ_SLOW_TESTS === '1')('deit_small-shaped model (depth 1), BRECQ with its per-sample gradient cache: each phase within 20 %', async () => {
    const deit = randomVitCheckpoint(JSON.stringify({ architecture: 'deit_small_patch16_224', model_args: { depth: 1 } }), 7);
    const settings = { ...PRESETS.quick, iters: 2, calibSize: 6, searchSize: 2, searchCandidates: 8, batch: 3 };
    await expectPhasesWithin(deit, 'brecq-fim', 3, settings);
  }, 600_000);
});

describe('memory check before a run', () => {
  const cfg = randomVitCheckpoint(JSON.stringify({ architecture: 'deit_small_patch16_224' }), 1).config;
  const paper = runMemory(cfg, { method: 'fimaq', wbits: 4, abits: 4, images: 1024, settings: PRESETS.paper, fisher: DEFAULT_FISHER });

  it('counts BRECQ per-sample gradients: one more [images, tokens, width] cache', () => {
    const brecq = runMemory(cfg, { method: 'brecq-fim', wbits: 4, abits: 4, images: 1024, settings: PRESETS.paper, fisher: DEFAULT_FISHER });
    const mse = runMemory(cfg, { method: 'mse', wbits: 4, abits: 4, images: 1024, settings: PRESETS.paper });
    expect(brecq.reconstruction!.peakBytes).toBeGreaterThan(mse.reconstruction!.peakBytes + 1024 * 197 * 384 * 4 * 0.99);
  });

  it('scales with the images: more calibration images need more memory', () => {
    const half = runMemory(cfg, { method: 'fimaq', wbits: 4, abits: 4, images: 512, settings: { ...PRESETS.paper, calibSize: 512 }, fisher: DEFAULT_FISHER });
    expect(half.reconstruction!.peakBytes).toBeLessThan(paper.reconstruction!.peakBytes);
    expect(half.calibration.peakBytes).toBe(paper.calibration.peakBytes);
  });

  it('counts the buffers held through a phase against the binding limit: the largest capture, cache chunks', () => {
    // The fc2 input captured for 128 search images, [128, 197, 1536] floats, is one buffer (with
    // 16 candidates, larger than any of the search's own buffers).
    const few = runMemory(cfg, { method: 'fimaq', wbits: 4, abits: 4, images: 1024, settings: { ...PRESETS.paper, searchCandidates: 16 }, fisher: DEFAULT_FISHER });
    expect(few.calibration.largestBufferBytes).toBeGreaterThanOrEqual(128 * 197 * 1536 * 4);
    // Reconstruction caches are split at the binding limit, so their chunks stay below it.
    const chunked = runMemory(cfg, { method: 'mse', wbits: 4, abits: 4, images: 1024, settings: PRESETS.paper, chunkBytes: 64 * 2 ** 20 });
    const whole = runMemory(cfg, { method: 'mse', wbits: 4, abits: 4, images: 1024, settings: PRESETS.paper });
    expect(whole.reconstruction!.largestBufferBytes).toBeGreaterThanOrEqual(1024 * 197 * 384 * 4);
    expect(chunked.reconstruction!.largestBufferBytes).toBeLessThan(whole.reconstruction!.largestBufferBytes);
  });

  it('reports a budget or a binding limit that is too small, naming the phase', () => {
    expect(memoryFitProblems(paper, { maxBufferSize: 2 ** 40, maxStorageBufferBindingSize: 2 ** 40 }, paper.peak_bytes)).toEqual([]);
    const [budget] = memoryFitProblems(paper, { maxBufferSize: 2 ** 40, maxStorageBufferBindingSize: 2 ** 40 }, paper.peak_bytes - 1);
    expect(budget).toMatch(/needs about \d+ MiB of GPU memory at its peak \((calibration|reconstruction), .+\)/);
    const [binding] = memoryFitProblems(paper, { maxBufferSize: 2 ** 40, maxStorageBufferBindingSize: 64 * 2 ** 20 });
    expect(binding).toMatch(/buffer .* above this adapter's largest storage binding \(64 MiB\)/);
  });

  it('quantize refuses to start when the estimate exceeds the budget, and writes nothing', async () => {
    const demo = await loadVitCheckpoint('demo/fashion-vit', 'the test');
    const store = new MemoryStore();
    const settings = { ...PRESETS.quick, iters: 2, calibSize: 16, searchSize: 8 };
    await expect(
      quantizeModel(ctx, { checkpoint: demo, calibration: images(demo, 16, 2), method: 'mse', wbits: 4, abits: 4, seed: 1, settings, toolVersion: 'test' }, { store, memoryBudgetBytes: 2 ** 20 }),
    ).rejects.toThrow(/does not fit the GPU: the run needs about \d+ MiB .* above the 1 MiB given/);
    expect(store.output).toBeNull();
    expect(store.files.size).toBe(0);
  });
});
