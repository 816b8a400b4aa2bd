/**
 * `boundsChecks: false` (Dawn's disable_robustness) only removes the clamping Tint adds to buffer
 * accesses; since every kernel keeps its own indices in range, a whole pipeline must give the very
 * same bits with and without it: calibration search, a FIMA-Q reconstruction (Fisher snapshots,
 * DPLR loss, backward kernels), the fake-quant forward and the integer forward.
 */
import { describe, expect, it } from 'vitest';
import { IntVit } from '../../src/inference/int-vit.js';
import { calibrate } from '../../src/quant/calibrate.js';
import { FakeQuantModel } from '../../src/quant/fake-quant-model.js';
import { reconstruct } from '../../src/recon/reconstruct.js';
import { PRESETS } from '../../src/recon/settings.js';
import type { GpuContext } from '../../src/runtime/context.js';
import { createNodeContext } from '../../src/runtime/node-gpu.js';
import { uniformTensor } from '../../src/util/prng.js';
import { randomVitCheckpoint } from '../helpers/random-vit.js';

const CONFIG = JSON.stringify({ architecture: 'vit_tiny_patch4_12', model_args: { img_size: 12, patch_size: 4, in_chans: 1, embed_dim: 16, depth: 2, num_heads: 2, num_classes: 6 } });
const ckpt = randomVitCheckpoint(CONFIG, 23);
const c = ckpt.config;
const count = 16;
const images = uniformTensor(9, 4, count * c.inChans * c.imgSize * c.imgSize, 0, 1.5);
const INFO = { method: 'calib', wbits: 3, abits: 3, seed: 2, calibSize: count, calibData: 'random', toolVersion: 'test' };

/** Every number the pipeline produces, in one array. */
async function pipeline(ctx: GpuContext): Promise<Float32Array[]> {
  const cal = await calibrate(ctx, ckpt, images, count, { method: 'calib', wbits: 3, abits: 3, eqN: 8, rounds: 1, batchSize: 8 });
  const settings = { ...PRESETS.quick, iters: 6, batch: 8, calibSize: count, searchSize: count, reportEvery: 3 };
  const fisher = { k: 2, p1: 1, p2: 1, temperature: 20, disMode: 'q' as const, damping: 1e-4 };
  const r = await reconstruct(ctx, { ...ckpt, weights: cal.reparameterized }, { ...cal.quantized, configText: CONFIG, info: INFO }, images, count, { settings, seed: 3, method: 'fimaq', fisher });
  const input = ctx.upload(images, [count, c.inChans, c.imgSize, c.imgSize], 'images');
  const outputs: Float32Array[] = [];
  for (const model of [FakeQuantModel.upload(ctx, r.quantized), IntVit.upload(ctx, r.quantized)]) {
    const logits = model.forward(input);
    outputs.push(await ctx.read(logits));
    logits.release();
    model.release();
  }
  input.release();
  const learned = r.quantized.blocks.flatMap((b) => [b.qkv, b.fc2].flatMap((l) => [Float32Array.from(l.weight.codes), l.input.scale]));
  return [...outputs, ...learned];
}

describe('bounds checks off', () => {
  it('gives bit-identical calibration, FIMA-Q reconstruction and forwards', async () => {
    const results: Float32Array[][] = [];
    for (const boundsChecks of [true, false]) {
      const ctx = await createNodeContext({ boundsChecks });
      expect(ctx.adapter.backend.includes('bounds checks off')).toBe(!boundsChecks);
      try {
        results.push(await pipeline(ctx));
      } finally {
        await ctx.dispose();
      }
    }
    expect(results[1].map((a) => Array.from(a))).toEqual(results[0].map((a) => Array.from(a)));
    expect(results[0][0].some((v) => v !== 0)).toBe(true);
  }, 120_000);
});
