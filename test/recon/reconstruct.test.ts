/**
 * The reconstruction scheduler on a small random ViT: optimisation steps read nothing back,
 * the same seed gives the same codes and scales, the loss falls, and a run resumed after some
 * units equals the uninterrupted one.
 */
import { describe, expect, it } from 'vitest';
import { calibrate } from '../../src/quant/calibrate.js';
import type { QuantizedModel, QuantizedVit } from '../../src/quant/quantized-model.js';
import { reconstruct } from '../../src/recon/reconstruct.js';
import { unitNames } from '../../src/recon/unit-graph.js';
import { PRESETS, type ReconSettings } from '../../src/recon/settings.js';
import { uniformTensor } from '../../src/util/prng.js';
import { testContext } from '../helpers/gpu.js';
import { randomVitCheckpoint } from '../helpers/random-vit.js';

const CONFIG = JSON.stringify({ architecture: 'vit_tiny_patch4_12', model_args: { img_size: 12, patch_size: 4, in_chans: 1, embed_dim: 16, depth: 2, num_heads: 2, num_classes: 6 } });
const ckpt = randomVitCheckpoint(CONFIG, 21);
const c = ckpt.config;
const count = 24;
const images = uniformTensor(8, 9, count * c.inChans * c.imgSize * c.imgSize, 0, 1.5);
const INFO = { method: 'calib', wbits: 4, abits: 4, seed: 1, calibSize: count, calibData: 'random', toolVersion: 'test' };
const settings = (iters: number, reportEvery = 1000): ReconSettings => ({ ...PRESETS.quick, iters, batch: 8, calibSize: count, searchSize: count, reportEvery, lrRound: 1e-2, lrScale: 1e-3 });

async function calibrated(): Promise<{ q: QuantizedVit; float: typeof ckpt }> {
  const ctx = await testContext();
  const r = await calibrate(ctx, ckpt, images, count, { method: 'calib', wbits: 4, abits: 4, eqN: 16, rounds: 1, batchSize: 8 });
  return { q: { ...r.quantized, configText: CONFIG, info: INFO }, float: { ...ckpt, weights: r.reparameterized } };
}

/** Everything reconstruction changes, flattened for exact comparison. */
function learned(q: QuantizedVit): number[] {
  const out: number[] = [...q.patchEmbed.weight.codes, ...q.head.weight.codes, ...q.head.input.scale];
  for (const b of q.blocks) {
    for (const l of [b.qkv, b.proj, b.fc1, b.fc2]) out.push(...l.weight.codes, ...l.input.scale);
    for (const a of [b.q, b.k, b.v, b.attn]) out.push(...a.scale);
  }
  return out;
}

describe('reconstruct', () => {
  it('records optimisation steps without any readback', async () => {
    const ctx = await testContext();
    const { q, float } = await calibrated();
    const readbacks: number[] = [];
    for (const iters of [2, 7]) {
      const before = ctx.stats.readbacks;
      await reconstruct(ctx, float, q, images, count, { settings: settings(iters), seed: 5 });
      readbacks.push(ctx.stats.readbacks - before);
    }
    // Same readbacks (losses at the first and last step, results per unit) for 2 and 7 steps.
    expect(readbacks[1]).toBe(readbacks[0]);
  });

  it('is deterministic for a seed, changes with the seed, and does not depend on cache chunking', async () => {
    const ctx = await testContext();
    const { q, float } = await calibrated();
    const runs = [];
    for (const seed of [5, 5, 6]) runs.push(await reconstruct(ctx, float, q, images, count, { settings: settings(8), seed }));
    expect(learned(runs[1].quantized)).toEqual(learned(runs[0].quantized));
    expect(learned(runs[2].quantized)).not.toEqual(learned(runs[0].quantized));
    expect(learned(runs[0].quantized)).not.toEqual(learned(q));
    expect(runs[0].reports.map((r) => r.unit)).toEqual(unitNames(c));
    // Caches split into chunks of 5 images give the very same result.
    const chunked = await reconstruct(ctx, float, q, images, count, { settings: settings(8), seed: 5, chunkBytes: 5 * c.numTokens * c.embedDim * 4 });
    expect(learned(chunked.quantized)).toEqual(learned(runs[0].quantized));
  });

  it('lowers the loss of every unit (full batch, no QDrop, no rounding regulariser: plain descent)', async () => {
    const ctx = await testContext();
    const { q, float } = await calibrated();
    const run = await reconstruct(ctx, float, q, images, count, { settings: { ...settings(30, 30), batch: count, dropProb: 1, roundWeight: 0 }, seed: 5 });
    for (const r of run.reports) {
      const first = r.losses[0][1];
      const last = r.losses[r.losses.length - 1][1];
      expect(last, `${r.unit}: loss ${first} -> ${last}`).toBeLessThan(first);
    }
  });

  it('measures each unit\'s hard-quantized output error before and after (patch embedding checked in float64)', async () => {
    const ctx = await testContext();
    const { q, float } = await calibrated();
    const run = await reconstruct(ctx, float, q, images, count, { settings: settings(8), seed: 5 });
    for (const r of run.reports) {
      for (const v of [r.hardError.before, r.hardError.after]) expect(v, r.unit).toBeGreaterThan(0);
      expect(r.hardError.before, r.unit).toBeLessThan(1);
    }
    // Before its optimisation the patch embedding has the calibrated (round-to-nearest) codes; after,
    // the AdaRound codes of the run. Both errors recomputed here from the weights in float64.
    const d = c.embedDim;
    const g = c.imgSize / c.patchSize;
    const w = float.weights.get('patch_embed.proj.weight') as Float32Array;
    const bias = float.weights.get('patch_embed.proj.bias') as Float32Array;
    const cls = float.weights.get('cls_token') as Float32Array;
    const pos = float.weights.get('pos_embed') as Float32Array;
    const errorOf = (wq: QuantizedVit['patchEmbed']['weight']): number => {
      let err = 0;
      let ref = 0;
      for (let b = 0; b < count; b++) {
        for (let t = 0; t < 1 + g * g; t++) {
          for (let o = 0; o < d; o++) {
            let y = pos[t * d + o];
            let yq = y;
            if (t === 0) {
              y += cls[o];
              yq += cls[o];
            } else {
              const gy = Math.floor((t - 1) / g);
              const gx = (t - 1) % g;
              y += bias[o];
              yq += bias[o];
              for (let k = 0; k < wq.cols; k++) {
                const ch = Math.floor(k / (c.patchSize * c.patchSize));
                const ky = Math.floor((k % (c.patchSize * c.patchSize)) / c.patchSize);
                const kx = k % c.patchSize;
                const px = images[((b * c.inChans + ch) * c.imgSize + gy * c.patchSize + ky) * c.imgSize + gx * c.patchSize + kx];
                y += px * w[o * wq.cols + k];
                yq += px * (wq.codes[o * wq.cols + k] - wq.zeroPoint[o]) * wq.scale[o];
              }
            }
            err += (yq - y) ** 2;
            ref += y ** 2;
          }
        }
      }
      return err / ref;
    };
    const pe = run.reports[0];
    expect(pe.unit).toBe('patch_embed');
    expect(pe.hardError.before).toBeCloseTo(errorOf(q.patchEmbed.weight), 6);
    expect(pe.hardError.after).toBeCloseTo(errorOf(run.quantized.patchEmbed.weight), 6);
  });

  it('runs the Fisher losses (fimaq, diag-fim, lr-fim, brecq-fim): finite self-normalised losses; fimaq repeats for a seed', async () => {
    const ctx = await testContext();
    const { q, float } = await calibrated();
    const fisher = { k: 2, p1: 1, p2: 1, temperature: 20, disMode: 'q' as const, damping: 1e-4 };
    for (const method of ['fimaq', 'diag-fim', 'lr-fim', 'brecq-fim'] as const) {
      const runs = [];
      for (let r = 0; r < (method === 'fimaq' ? 2 : 1); r++) runs.push(await reconstruct(ctx, float, q, images, count, { settings: settings(6, 3), seed: 5, method, fisher }));
      if (method === 'fimaq') expect(learned(runs[1].quantized)).toEqual(learned(runs[0].quantized));
      for (const rep of runs[0].reports) {
        for (const [, v] of rep.losses) expect(Number.isFinite(v), `${method} ${rep.unit}`).toBe(true);
        // Self-normalised: each weighted term starts at its weight (brecq-fim: one term of weight 1).
        if (rep.unit !== 'head') expect(rep.losses[0][1], `${method} ${rep.unit}`).toBeCloseTo(method === 'brecq-fim' ? 1 : 2, 4);
        // k = 2 snapshots in 6 steps (at steps 0 and 3) for the snapshot losses' units; none for BRECQ's or the head.
        if (method === 'brecq-fim' || rep.unit === 'head') expect(rep.snapshots).toBeUndefined();
        else {
          expect(rep.snapshots?.snapshots, `${method} ${rep.unit}`).toBe(2);
          for (const c of [rep.snapshots?.gradMinCosine, rep.snapshots?.errorMinCosine]) {
            expect(c).toBeGreaterThan(0);
            expect(c).toBeLessThanOrEqual(1 + 1e-12);
          }
        }
      }
    }
  });

  it('runs eig-fim: the loss starts at 2 after each refresh, eigenpairs on the snapshot schedule or once, repeatable for a seed', async () => {
    const ctx = await testContext();
    const { q, float } = await calibrated();
    const fisher = { k: 2, p1: 1, p2: 1, temperature: 20, disMode: 'q' as const, damping: 1e-4 };
    const run = (f: typeof fisher & { eigOnce?: boolean }) => reconstruct(ctx, float, q, images, count, { settings: settings(6, 3), seed: 5, method: 'eig-fim', fisher: f });
    const [a, b, once] = [await run(fisher), await run(fisher), await run({ ...fisher, eigOnce: true })];
    expect(learned(b.quantized)).toEqual(learned(a.quantized));
    expect(learned(once.quantized)).not.toEqual(learned(a.quantized));
    for (const [r, refreshes] of [[a, 2], [once, 1]] as const) {
      for (const rep of r.reports) {
        for (const [, v] of rep.losses) expect(Number.isFinite(v), rep.unit).toBe(true);
        if (rep.unit === 'head') {
          expect(rep.eigen).toBeUndefined();
          continue;
        }
        expect(rep.losses[0][1], rep.unit).toBeCloseTo(2, 4);
        expect(rep.snapshots).toBeUndefined();
        expect(rep.eigen?.refreshes, rep.unit).toBe(refreshes);
        expect(rep.eigen?.values).toHaveLength(2);
        expect(rep.eigen!.values[0]).toBeGreaterThanOrEqual(rep.eigen!.values[1]!);
        expect(rep.eigen!.capturedShare).toBeGreaterThan(0);
        expect(rep.eigen!.capturedShare).toBeLessThanOrEqual(1 + 1e-9);
      }
    }
  });

  it('stops with an error naming the unit when its loss stops being finite', async () => {
    const ctx = await testContext();
    // fc1 weights near the float32 limit overflow the block's activations once they are trained on.
    const weights = new Map(ckpt.weights);
    weights.set('blocks.0.mlp.fc1.weight', ckpt.weights.get('blocks.0.mlp.fc1.weight')!.map((v) => v * 1e37));
    const blown = { ...ckpt, weights };
    const r = await calibrate(ctx, blown, images, count, { method: 'rtn', wbits: 4, abits: 4, batchSize: 8 });
    const q = { ...r.quantized, configText: CONFIG, info: INFO };
    await expect(reconstruct(ctx, { ...blown, weights: r.reparameterized }, q, images, count, { settings: settings(2), seed: 5 })).rejects.toThrow(
      /^reconstruction of blocks\.0 diverged: loss NaN at iteration 1/,
    );
  });

  it('resuming after finished units gives the same model as one run', async () => {
    const ctx = await testContext();
    const { q, float } = await calibrated();
    const whole = await reconstruct(ctx, float, q, images, count, { settings: settings(5), seed: 5 });
    let partial: QuantizedModel | null = null;
    await reconstruct(ctx, float, q, images, count, {
      settings: settings(5),
      seed: 5,
      onUnitDone: async (m, done) => {
        if (done === 2) partial = structuredClone(m);
      },
    });
    expect(partial).not.toBeNull();
    const resumed = await reconstruct(ctx, float, partial as unknown as QuantizedVit, images, count, { settings: settings(5), seed: 5, done: 2 });
    expect(resumed.reports.map((r) => r.unit)).toEqual(unitNames(c).slice(2));
    expect(learned(resumed.quantized)).toEqual(learned(whole.quantized));
  });
});
