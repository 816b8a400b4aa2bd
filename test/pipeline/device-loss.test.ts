/**
 * A GPU device lost in the middle of a run (destroyed here, as a driver reset or a sleeping laptop
 * GPU would lose it): the run stops with an error that says the checkpoint keeps the finished
 * units, and resuming on a new device writes the same file as an uninterrupted run. Allocations
 * beyond the adapter's limits say what they needed.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/io/run-store.js';
import { type QuantizeRequest, quantizeModel } from '../../src/pipeline/quantize.js';
import { PRESETS } from '../../src/recon/settings.js';
import { createNodeContext } from '../../src/runtime/node-gpu.js';
import { DeviceLostError, GpuMemoryError } from '../../src/util/errors.js';
import { uniformTensor } from '../../src/util/prng.js';
import { randomVitCheckpoint } from '../helpers/random-vit.js';

const CONFIG = JSON.stringify({ architecture: 'vit_tiny_patch4_12', model_args: { img_size: 12, patch_size: 4, in_chans: 1, embed_dim: 16, depth: 2, num_heads: 2, num_classes: 6 } });
const count = 16;
const request: QuantizeRequest = {
  checkpoint: randomVitCheckpoint(CONFIG, 4),
  calibration: { pixels: uniformTensor(2, 3, count * 144, 0, 1.5), count, name: 'random', selection: 'seeded', indices: Array.from({ length: count }, (_, i) => i) },
  method: 'fimaq',
  wbits: 3,
  abits: 3,
  seed: 11,
  settings: { ...PRESETS.quick, iters: 4, batch: 4, calibSize: count, searchSize: 4, searchCandidates: 16, reportEvery: 2 },
  preset: 'quick',
  fisher: { k: 2, p1: 1, p2: 1, temperature: 20, disMode: 'q', damping: 1e-4 },
  toolVersion: 'test',
};

describe('a lost device', () => {
  it('stops the run with the checkpoint kept; resuming on a new device gives the uninterrupted file', async () => {
    const whole = await createNodeContext();
    const expected = (await quantizeModel(whole, request, { store: new MemoryStore() })).bytes;
    await whole.dispose();

    const ctx = await createNodeContext();
    const store = new MemoryStore('ckpt');
    let units = 0;
    const lost = quantizeModel(ctx, request, { store, onUnitDone: () => ++units === 2 && ctx.device.destroy() });
    await expect(lost).rejects.toThrow(DeviceLostError);
    await expect(lost).rejects.toThrow(/^the GPU device was lost \(destroyed.*\); the work in progress is gone; the checkpoint in ckpt keeps 2 finished units, and resuming continues after them$/);
    expect(((await lost.catch((e: unknown) => e)) as DeviceLostError).resumable).toBe(true);
    expect(ctx.isLost).toBe(true);
    await ctx.dispose();

    const fresh = await createNodeContext();
    const resumed = await quantizeModel(fresh, request, { store, checkpoints: 'resume' });
    expect(resumed.resumedAt).toBe(2);
    expect(resumed.bytes).toEqual(expected);
    await fresh.dispose();
  });

  it('an allocation beyond the adapter limits names its size and the limit', async () => {
    const ctx = await createNodeContext();
    const limit = Math.min(ctx.limits.maxBufferSize, ctx.limits.maxStorageBufferBindingSize);
    const floats = Math.floor(limit / 4) + 1;
    expect(() => ctx.empty([floats], 'huge.cache')).toThrow(GpuMemoryError);
    expect(() => ctx.empty([floats], 'huge.cache')).toThrow(new RegExp(`^huge\\.cache: needs a ${floats * 4}-byte buffer, above this adapter's max\\w+ \\(${limit} bytes\\)`));
    await ctx.dispose();
  });
});
