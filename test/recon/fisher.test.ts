/**
 * A Fisher snapshot streamed over minibatches equals the mean of per-image gradients computed one
 * image at a time (QDrop off, so both see the same quantized block); FisherLoss builds G, ḡ and
 * the damped inverse of the error Gram matrix from its snapshots as a float64 recomputation does.
 */
import { describe, expect, it } from 'vitest';
import { VitModel } from '../../src/model/vit.js';
import { VitTail } from '../../src/model/vit-tail.js';
import { klGrad } from '../../src/ops/kl-grad.js';
import { calibrate } from '../../src/quant/calibrate.js';
import { RowCache } from '../../src/quant/capture.js';
import { fisherSnapshot } from '../../src/recon/fisher.js';
import { DEFAULT_FISHER, FisherLoss } from '../../src/recon/losses.js';
import { buildUnit } from '../../src/recon/unit-graph.js';
import type { Tensor } from '../../src/runtime/context.js';
import { uniformTensor } from '../../src/util/prng.js';
import { expectClose, testContext } from '../helpers/gpu.js';
import { randomVitCheckpoint } from '../helpers/random-vit.js';

const CONFIG = JSON.stringify({ architecture: 'vit_tiny_patch4_12', model_args: { img_size: 12, patch_size: 4, in_chans: 1, embed_dim: 16, depth: 2, num_heads: 2, num_classes: 6 } });
const ckpt = randomVitCheckpoint(CONFIG, 21);
const c = ckpt.config;
const count = 10;
const batch = 4;
const T = 20;
const images = uniformTensor(8, 11, count * c.imgSize * c.imgSize, 0, 1.5);
const INFO = { method: 'calib', wbits: 4, abits: 4, seed: 1, calibSize: count, calibData: 'random', toolVersion: 'test' };

/** Block 0 of the calibrated model as a unit (QDrop off: keepProb 2), its float tail and the caches of the calibration set. */
async function blockZero() {
  const ctx = await testContext();
  const cal = await calibrate(ctx, ckpt, images, count, { method: 'calib', wbits: 4, abits: 4, eqN: 16, rounds: 1 });
  const float = { ...ckpt, weights: cal.reparameterized };
  const fp = VitModel.upload(ctx, float);
  const imageT = ctx.upload(images, [count, 1, c.imgSize, c.imgSize], 'images');
  const cache = (t: Tensor, label: string) => {
    const r = new RowCache(ctx, count, t.shape.slice(1), label);
    r.put(t, 0);
    t.release();
    return r;
  };
  const tokens = fp.embed(imageT);
  const yFp = cache(fp.block(0, tokens), 'y_fp');
  const logitsFp = cache(fp.forward(imageT), 'logits_fp');
  const xFp = cache(tokens, 'x_fp');
  imageT.release();
  const unit = buildUnit(ctx, 'blocks.0', fp, float, { ...cal.quantized, configText: CONFIG, info: INFO }, 2);
  return { ctx, fp, xFp, yFp, logitsFp, unit, tail: new VitTail(fp, 1) };
}

describe('fisherSnapshot', () => {
  it('equals the mean of per-image |gradients| and |errors| (batchmean scaling as the method)', async () => {
    const { ctx, fp, xFp, yFp, logitsFp, unit, tail } = await blockZero();
    const noise = () => (_slot: number, n: number) => ctx.upload(new Float32Array(n).fill(0.5), [n], 'noise');
    const sums = fisherSnapshot(ctx, unit, tail, { xFp, yFp, logitsFp, batch, temperature: T, noise });
    const D = yFp.rowSize;
    const gradRef = new Float64Array(D);
    const errRef = new Float64Array(D);
    for (let i = 0; i < count; i++) {
      const x = xFp.slice(i, 1, 'x');
      const z = unit.trainForward(x, noise());
      unit.discard();
      const logits = tail.forward(z);
      const target = logitsFp.slice(i, 1, 'target');
      const dLogits = klGrad(ctx, logits, target, 1, 'dlogits', T);
      const g = await ctx.read(tail.backward(dLogits));
      const zq = await ctx.read(z);
      const zf = await ctx.read(yFp.slice(i, 1, 'zf'));
      // In a batch of n, batchmean divides each image's gradient by n.
      const n = Math.min(batch, count - Math.floor(i / batch) * batch);
      for (let d = 0; d < D; d++) {
        gradRef[d] += Math.abs(g[d]) / n;
        errRef[d] += Math.abs(zq[d] - zf[d]);
      }
      for (const t of [x, z, logits, target, dLogits]) t.release();
    }
    const gradSum = await ctx.read(sums.gradSum);
    expect(gradSum.some((v) => v > 0)).toBe(true);
    const scale = gradRef.reduce((m, v) => Math.max(m, v), 0);
    expectClose(gradSum, gradRef, 1e-5 * scale, 1e-4, 'gradient sums');
    expectClose(await ctx.read(sums.errorSum), errRef, 1e-5, 1e-4, 'error sums');
    expect(sums.images).toBe(count);
    for (const t of [sums.gradSum, sums.errorSum]) t.release();
    for (const r of [xFp, yFp, logitsFp]) r.release();
    unit.release();
    fp.release();
  });

  it('FisherLoss: G, ḡ and inv(Δ̄Δ̄ᵀ + damping) after two snapshots equal a float64 recomputation from the snapshot sums', async () => {
    const { ctx, fp, xFp, yFp, logitsFp, unit, tail } = await blockZero();
    const constant = (_slot: number, n: number) => ctx.upload(new Float32Array(n).fill(0.5), [n], 'noise');
    const f = { ...DEFAULT_FISHER, k: 2, disMode: 'qf' as const, damping: 1e-3 };
    const loss = new FisherLoss(ctx, 'fimaq', f, { unit, tail, xFp, yFp, logitsFp, iters: 10, batch, noise: () => constant });
    /** The snapshot's mean |g| and mean |Δ| rows, from fisherSnapshot on the unit as it is now. */
    const snapshotRows = async () => {
      const sums = fisherSnapshot(ctx, unit, tail, { xFp, yFp, logitsFp, batch, temperature: f.temperature, noise: () => constant });
      const rows = { g: Array.from(await ctx.read(sums.gradSum), (v) => v / count), delta: Array.from(await ctx.read(sums.errorSum), (v) => v / count) };
      sums.gradSum.release();
      sums.errorSum.release();
      return rows;
    };
    const first = await snapshotRows();
    await loss.prepare(0);
    // One large step, so that the second snapshot sees another quantized block.
    const x = xFp.slice(0, batch, 'x');
    const target = yFp.slice(0, batch, 'target');
    const y = unit.trainForward(x, constant);
    const dy = loss.grad(y, target);
    unit.backward(dy);
    unit.step({ lrRound: 0.5, lrScale: 0.05, roundWeight: 0, beta: 20 });
    for (const t of [x, target, y, dy]) t.release();
    const second = await snapshotRows();
    await loss.prepare(1);
    const state = await loss.readState();
    if (!state) throw new Error('no Fisher state after two snapshots');
    expect(state.rank).toBe(2);
    const D = yFp.rowSize;
    expectClose(state.g, [...first.g, ...second.g], 1e-12, 1e-6, 'G');
    expectClose(state.gbar, first.g.map((v, d) => (v + second.g[d]) / 2), 1e-12, 1e-6, 'ḡ');
    // Δ̄Δ̄ᵀ in float64 (the rows as FisherLoss stores them: float32), damped, inverted in closed form.
    const rows = [Float32Array.from(first.delta), Float32Array.from(second.delta)];
    const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);
    const [a, b, d] = [dot(rows[0], rows[0]), dot(rows[0], rows[1]), dot(rows[1], rows[1])];
    expect(Math.abs(b) / Math.sqrt(a * d)).toBeLessThan(1 - 1e-6);
    const eps = (f.damping * (a + d)) / 2;
    const det = (a + eps) * (d + eps) - b * b;
    expectClose(state.binv, [(d + eps) / det, -b / det, -b / det, (a + eps) / det], 1e-12, 1e-5, 'Binv');
    expect(D).toBe(c.numTokens * c.embedDim);
    loss.release();
    for (const r of [xFp, yFp, logitsFp]) r.release();
    unit.release();
    fp.release();
  });
});
