/**
 * Reconstruction of a small random Swin with padded, shifted windows and a patch merging: the
 * units in the method's order (patch embedding, blocks, patch merging, head), the loss of each
 * falling under plain descent, the Fisher losses running with their snapshots through the Swin
 * float tail, and codes and scales landing in the quantized model that the fake-quant model runs.
 */
import { describe, expect, it } from 'vitest';
import { FakeQuantModel } from '../../src/quant/fake-quant-model.js';
import { calibrateSwin } from '../../src/quant/calibrate-swin.js';
import type { QuantizedSwin } from '../../src/quant/quantized-model.js';
import { reconstruct } from '../../src/recon/reconstruct.js';
import { PRESETS, type ReconSettings } from '../../src/recon/settings.js';
import { unitNames } from '../../src/recon/unit-graph.js';
import { uniformTensor } from '../../src/util/prng.js';
import { testContext } from '../helpers/gpu.js';
import { randomSwinCheckpoint } from '../helpers/random-vit.js';

// 20x20 in patches of 2: a 10x10 grid in windows of 4 (padded to 12x12, 9 windows, shift 2), then merged to 5x5 (padded to 8x8).
const CONFIG = JSON.stringify({
  architecture: 'swin_tiny_patch4_window7_224',
  model_args: { img_size: 20, patch_size: 2, window_size: 4, in_chans: 1, num_classes: 5, embed_dim: 8, depths: [2, 1], num_heads: [2, 2] },
});
const ckpt = randomSwinCheckpoint(CONFIG, 31);
const c = ckpt.config;
const count = 12;
const images = uniformTensor(9, 9, count * c.inChans * c.imgSize * c.imgSize, 0, 1.5);
const INFO = { method: 'calib', wbits: 4, abits: 4, seed: 1, calibSize: count, calibData: 'random', toolVersion: 'test' };
const settings = (iters: number, reportEvery = 1000): ReconSettings => ({ ...PRESETS.quick, iters, batch: 4, calibSize: count, searchSize: count, reportEvery, lrRound: 1e-2, lrScale: 1e-3 });

async function calibrated(): Promise<{ q: QuantizedSwin; float: typeof ckpt }> {
  const ctx = await testContext();
  const r = await calibrateSwin(ctx, ckpt, images, count, { method: 'calib', wbits: 4, abits: 4, eqN: 16, rounds: 1, batchSize: 4 });
  return { q: { ...r.quantized, configText: CONFIG, info: INFO }, float: { ...ckpt, weights: r.reparameterized } };
}

describe('reconstruct: Swin', () => {
  it('every unit in order; each loss falls under plain descent; the codes land in the model', async () => {
    const ctx = await testContext();
    const { q, float } = await calibrated();
    const names = unitNames(c);
    expect(names).toEqual(['patch_embed', 'layers.0.blocks.0', 'layers.0.blocks.1', 'layers.1.downsample', 'layers.1.blocks.0', 'head']);
    const run = await reconstruct(ctx, float, q, images, count, { settings: { ...settings(30, 30), batch: count, dropProb: 1, roundWeight: 0 }, seed: 5 });
    expect(run.reports.map((r) => r.unit)).toEqual(names);
    for (const r of run.reports) {
      const first = r.losses[0]![1];
      const last = r.losses[r.losses.length - 1]![1];
      expect(last, `${r.unit}: loss ${first} -> ${last}`).toBeLessThan(first);
      for (const v of [r.hardError.before, r.hardError.after]) expect(Number.isFinite(v) && v > 0, r.unit).toBe(true);
    }
    const out = run.quantized;
    expect(out.merges).toHaveLength(1);
    expect(out.merges[0]!.weight.codes).not.toEqual(q.merges[0]!.weight.codes);
    expect(out.merges[0]!.input.scale).not.toEqual(q.merges[0]!.input.scale);
    expect(out.blocks[2]!.qkv.weight.codes).not.toEqual(q.blocks[2]!.qkv.weight.codes);
    expect(out.head.input.scale).not.toEqual(q.head.input.scale);
    // The calibrated model given in is left as it was.
    expect(q.merges[0]).not.toBe(out.merges[0]);
    const fq = FakeQuantModel.upload(ctx, out);
    const x = ctx.upload(images, [count, c.inChans, c.imgSize, c.imgSize], 'images');
    const logits = fq.forward(x);
    expect((await ctx.read(logits)).every(Number.isFinite)).toBe(true);
    for (const t of [x, logits]) t.release();
    fq.release();
  });

  it('runs the Fisher losses through the Swin tail (fimaq, brecq-fim): finite self-normalised losses, snapshots per unit', async () => {
    const ctx = await testContext();
    const { q, float } = await calibrated();
    const fisher = { k: 2, p1: 1, p2: 1, temperature: 20, disMode: 'q' as const, damping: 1e-4 };
    for (const method of ['fimaq', 'brecq-fim'] as const) {
      const run = await reconstruct(ctx, float, q, images, count, { settings: settings(6, 3), seed: 5, method, fisher });
      for (const rep of run.reports) {
        for (const [, v] of rep.losses) expect(Number.isFinite(v), `${method} ${rep.unit}`).toBe(true);
        if (rep.unit !== 'head') expect(rep.losses[0]![1], `${method} ${rep.unit}`).toBeCloseTo(method === 'brecq-fim' ? 1 : 2, 4);
        if (method === 'brecq-fim' || rep.unit === 'head') expect(rep.snapshots).toBeUndefined();
        else expect(rep.snapshots?.snapshots, `${method} ${rep.unit}`).toBe(2);
      }
    }
  });
});
