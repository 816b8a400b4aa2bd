/**
 * The pipeline's quantize flow on a small random ViT with an in-memory store: the same request
 * gives the same bytes; a run aborted mid-way and resumed from its checkpoint gives those bytes
 * too; a checkpoint is never overwritten unless asked; progress and unit reports arrive.
 */
import { describe, expect, it } from 'vitest';
import { parseQuantizedModel, serializeQuantizedModel } from '../../src/io/quantized-file.js';
import { MemoryStore } from '../../src/io/run-store.js';
import { type PipelineProgress, type QuantizeRequest, quantizeModel } from '../../src/pipeline/quantize.js';
import { PRESETS } from '../../src/recon/settings.js';
import { uniformTensor } from '../../src/util/prng.js';
import { testContext } from '../helpers/gpu.js';
import { randomVitCheckpoint } from '../helpers/random-vit.js';

const CONFIG = JSON.stringify({ architecture: 'vit_tiny_patch4_12', model_args: { img_size: 12, patch_size: 4, in_chans: 1, embed_dim: 16, depth: 2, num_heads: 2, num_classes: 6 } });
const ckpt = randomVitCheckpoint(CONFIG, 21);
const count = 16;
const pixels = uniformTensor(8, 9, count * 144, 0, 1.5);
const request = (method: QuantizeRequest['method']): QuantizeRequest => ({
  checkpoint: ckpt,
  calibration: { pixels, count, name: 'random', selection: 'seeded', indices: Array.from({ length: count }, (_, i) => i) },
  method,
  wbits: 4,
  abits: 4,
  seed: 7,
  settings: { ...PRESETS.quick, iters: 4, batch: 4, calibSize: count, searchSize: 4, searchCandidates: 16, reportEvery: 2 },
  preset: 'quick',
  fisher: { k: 2, p1: 1, p2: 1, temperature: 20, disMode: 'q', damping: 1e-4 },
  toolVersion: 'test',
});

describe('quantizeModel', () => {
  it('writes the same bytes for the same request, with progress and a report per unit', async () => {
    const ctx = await testContext();
    const runs = [];
    const phases = new Set<string>();
    const units: string[] = [];
    for (let i = 0; i < 2; i++) {
      const store = new MemoryStore();
      const r = await quantizeModel(ctx, request('fimaq'), { store, onProgress: (p: PipelineProgress) => phases.add(p.phase), onUnitDone: (u) => units.push(u.unit) });
      expect(store.output).toEqual(r.bytes);
      // The checkpoint is cleared once the output is written.
      expect(store.files.size).toBe(0);
      runs.push(r);
    }
    expect(runs[1].bytes).toEqual(runs[0].bytes);
    expect([...phases].sort()).toEqual(['calibrate', 'reconstruct']);
    expect(units.slice(0, 4)).toEqual(['patch_embed', 'blocks.0', 'blocks.1', 'head']);
    const file = parseQuantizedModel(runs[0].bytes, 'out');
    expect(file.info).toMatchObject({ method: 'fimaq', calibData: 'random', details: { calib_indices: 'seeded', preset: 'quick', search_size: 4 } });
    expect(JSON.stringify(file.info)).not.toMatch(/seconds|created/);
  });

  it('a run aborted after a unit resumes from its checkpoint to the very same file', async () => {
    const ctx = await testContext();
    const whole = await quantizeModel(ctx, request('mse'), { store: new MemoryStore() });
    const store = new MemoryStore('ckpt');
    const abort = new AbortController();
    await expect(quantizeModel(ctx, request('mse'), { store, signal: abort.signal, onUnitDone: (u) => u.unit === 'blocks.0' && abort.abort() })).rejects.toThrow(/abort/i);
    expect(store.output).toBeNull();
    expect([...store.files.keys()].sort()).toEqual(['calibrated', 'float', 'state']);
    // A plain rerun refuses to overwrite the checkpoint; resume continues after the two finished units.
    await expect(quantizeModel(ctx, request('mse'), { store })).rejects.toThrow(/ckpt: holds the checkpoint of an unfinished run \(mse, 2 units done\)/);
    const notices: string[] = [];
    const resumed = await quantizeModel(ctx, request('mse'), { store, checkpoints: 'resume', onNotice: (m) => notices.push(m) });
    expect(notices).toEqual(['resuming from ckpt after 2 finished units']);
    expect(resumed.resumedAt).toBe(2);
    expect(resumed.reports.map((r) => r.unit)).toEqual(['blocks.1', 'head']);
    expect(resumed.bytes).toEqual(whole.bytes);
    // The calibration-only model the checkpoint kept, for the comparison after a resume.
    expect(serializeQuantizedModel(resumed.calibrated!)).toEqual(serializeQuantizedModel(whole.calibrated!));
  });

  it('fresh discards a checkpoint; a changed request cannot resume one', async () => {
    const ctx = await testContext();
    const store = new MemoryStore('ckpt');
    const abort = new AbortController();
    await expect(quantizeModel(ctx, request('mse'), { store, signal: abort.signal, onUnitDone: () => abort.abort() })).rejects.toThrow(/abort/i);
    const other = { ...request('mse'), seed: 8 };
    await expect(quantizeModel(ctx, other, { store, checkpoints: 'resume' })).rejects.toThrow(/ckpt: the checkpoint is of a run with other settings, inputs or data/);
    const fresh = await quantizeModel(ctx, other, { store, checkpoints: 'fresh' });
    expect(fresh.resumedAt).toBe(0);
    expect(fresh.reports).toHaveLength(4);
  });

  it('calib and rtn write a file without checkpoints', async () => {
    const ctx = await testContext();
    for (const method of ['calib', 'rtn'] as const) {
      const store = new MemoryStore();
      const r = await quantizeModel(ctx, { ...request(method), settings: undefined, fisher: undefined }, { store });
      expect(store.files.size).toBe(0);
      expect(parseQuantizedModel(r.bytes, 'out').info.method).toBe(method);
    }
  });
});
