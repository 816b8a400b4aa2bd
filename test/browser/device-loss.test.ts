/**
 * A GPU device lost in the middle of a run in the browser (navigator.gpu in headless Chromium,
 * the device destroyed after two units): the run stops with a resumable error, and resuming on a
 * new device writes the file an uninterrupted Node run writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointToSafetensors } from '../../src/io/checkpoint-file.js';
import { MemoryStore } from '../../src/io/run-store.js';
import { quantizeModel } from '../../src/pipeline/quantize.js';
import { PRESETS } from '../../src/recon/settings.js';
import { createNodeContext } from '../../src/runtime/node-gpu.js';
import { uniformTensor } from '../../src/util/prng.js';
import { openEnginePage, type BrowserSession } from '../helpers/browser.js';
import { randomVitCheckpoint } from '../helpers/random-vit.js';

const CONFIG = JSON.stringify({ architecture: 'vit_tiny_patch4_12', model_args: { img_size: 12, patch_size: 4, in_chans: 1, embed_dim: 16, depth: 2, num_heads: 2, num_classes: 6 } });
const count = 16;
const settings = { ...PRESETS.quick, iters: 4, batch: 4, calibSize: count, searchSize: 4, searchCandidates: 16, reportEvery: 2 };
const fisher = { k: 2, p1: 1, p2: 1, temperature: 20, disMode: 'q' as const, damping: 1e-4 };

describe('a lost device in headless Chromium', () => {
  let session: BrowserSession;
  beforeAll(async () => {
    session = await openEnginePage();
  }, 180_000);
  afterAll(async () => {
    await session?.close();
  });

  it('stops the run resumably; resuming on a new device gives the uninterrupted Node file', async () => {
    const ckpt = randomVitCheckpoint(CONFIG, 4);
    const pixels = uniformTensor(2, 3, count * 144, 0, 1.5);
    const calibration = { pixels, count, name: 'random', selection: 'seeded' as const, indices: Array.from({ length: count }, (_, i) => i) };
    const request = { checkpoint: ckpt, calibration, method: 'fimaq' as const, wbits: 3, abits: 3, seed: 11, settings, preset: 'quick', fisher, toolVersion: 'test' };
    const node = await createNodeContext();
    const expected = (await quantizeModel(node, request, { store: new MemoryStore() })).bytes;
    await node.dispose();

    const result = await session.page.evaluate(
      async (configText: string, weights: number[], px: number[], n: number, s: typeof settings, f: typeof fisher) => {
        const lib = (window as unknown as { fimaqLib: typeof import('../../src/browser/index.js') }).fimaqLib;
        const checkpoint = lib.checkpointFromBytes(configText, new Uint8Array(weights), 'random');
        const cal = { pixels: new Float32Array(px), count: n, name: 'random', selection: 'seeded' as const, indices: Array.from({ length: n }, (_, i) => i) };
        const req = { checkpoint, calibration: cal, method: 'fimaq' as const, wbits: 3, abits: 3, seed: 11, settings: s, preset: 'quick', fisher: f, toolVersion: 'test' };
        const store = new lib.MemoryStore('ckpt');
        const ctx = await lib.createBrowserContext();
        let units = 0;
        let error = '';
        let resumable = false;
        try {
          await lib.quantizeModel(ctx, req, { store, onUnitDone: () => ++units === 2 && ctx.device.destroy() });
        } catch (e) {
          error = `${(e as Error).name}: ${(e as Error).message}`;
          resumable = (e as { resumable?: boolean }).resumable === true;
        }
        await ctx.dispose();
        const fresh = await lib.createBrowserContext();
        const resumed = await lib.quantizeModel(fresh, req, { store, checkpoints: 'resume' });
        await fresh.dispose();
        return { error, resumable, resumedAt: resumed.resumedAt, bytes: Array.from(resumed.bytes) };
      },
      ckpt.configText, Array.from(checkpointToSafetensors(ckpt)), Array.from(pixels), count, settings, fisher,
    );
    expect(result.error).toMatch(/^DeviceLostError: the GPU device was lost .*; the checkpoint in ckpt keeps 2 finished units, and resuming continues after them$/);
    expect(result.resumable).toBe(true);
    expect(result.resumedAt).toBe(2);
    expect(new Uint8Array(result.bytes)).toEqual(expected);
  });
});
