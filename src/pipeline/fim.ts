/**
 * The paper's Figure 1 on a model: the empirical Fisher matrix of KL(T = 20) with one block
 * quantized (calibrated, W = A = bits), over the class token's first channels, next to its
 * diagonal, rank-k and DPLR approximations (src/recon/fim-picture.ts), and how well the loss's
 * own terms (built from ḡ = mean |g|) fit it. What `fimaq fim` prints and the web app draws.
 */
import type { VitCheckpoint } from '../model/checkpoint.js';
import { VitTail } from '../model/vit-tail.js';
import { VitModel } from '../model/vit.js';
import { klGrad } from '../ops/kl-grad.js';
import { calibrate } from '../quant/calibrate.js';
import { FakeQuantModel } from '../quant/fake-quant-model.js';
import { ClassTokenGradientStats, empiricalFisher, fimApproximations, lossTermFits, renderHeatmaps } from '../recon/fim-picture.js';
import type { GpuContext } from '../runtime/context.js';

export interface FisherPictureRequest {
  checkpoint: VitCheckpoint;
  /** Preprocessed images [count, C, H, W]; the first 32 calibrate the quantized block. */
  pixels: Float32Array;
  count: number;
  block: number;
  channels: number;
  rank: number;
  bits: number;
  toolVersion: string;
}

export interface FisherPicture {
  panels: string[];
  /** The four panels side by side on one blue-white-red scale, RGBA. */
  picture: { width: number; height: number; rgba: Uint8Array };
  errors: { diag: number; lowRank: number; dplr: number };
  lossTermErrors: { diag: number; lowRank: number; dplr: number };
  topVectorCosines: number[];
  classTokenChannelMeanRatio: number;
  classTokenShare: number;
}

const BATCH = 32;
const TEMPERATURE = 20;

export async function fisherPicture(ctx: GpuContext, req: FisherPictureRequest, onProgress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<FisherPicture> {
  const { checkpoint: ckpt, count, block, channels, rank, bits } = req;
  const cfg = ckpt.config;
  const perImage = req.pixels.length / count;
  const searchSize = Math.min(BATCH, count);
  const cal = await calibrate(ctx, ckpt, req.pixels.subarray(0, searchSize * perImage), searchSize, { method: 'calib', wbits: bits, abits: bits, eqN: 32, rounds: 1, signal });
  const info = { method: 'calib', wbits: bits, abits: bits, seed: 0, calibSize: searchSize, calibData: 'fim', toolVersion: req.toolVersion };
  const fq = FakeQuantModel.upload(ctx, { ...cal.quantized, configText: ckpt.configText, info });
  const fp = VitModel.upload(ctx, { ...ckpt, weights: cal.reparameterized });
  const tail = new VitTail(fp, block + 1);
  const grads: Float64Array[] = [];
  const classToken = new ClassTokenGradientStats(cfg.numTokens, cfg.embedDim);
  try {
    for (let from = 0; from < count; from += BATCH) {
      signal?.throwIfAborted();
      const n = Math.min(BATCH, count - from);
      const images = ctx.upload(req.pixels.subarray(from * perImage, (from + n) * perImage), [n, cfg.inChans, cfg.imgSize, cfg.imgSize], 'fim.images');
      const target = fp.forward(images);
      let x = fp.embed(images);
      for (let i = 0; i < block; i++) {
        const next = fp.block(i, x);
        x.release();
        x = next;
      }
      // Only this block quantized, the rest in float, as the method's Fisher snapshots.
      const z = fq.model.block(block, x, fq.hooks);
      const logits = tail.forward(z);
      const dLogits = klGrad(ctx, logits, target, n, 'fim.dlogits', TEMPERATURE);
      const dz = tail.backward(dLogits);
      const g = await ctx.read(dz);
      const row = cfg.numTokens * cfg.embedDim;
      // Per-sample gradient of the sample's own KL: undo batchmean's 1/n; the class token's first channels.
      for (let b = 0; b < n; b++) grads.push(Float64Array.from(g.subarray(b * row, b * row + channels), (v) => v * n));
      classToken.add(g, n);
      for (const t of [images, target, x, z, logits, dLogits, dz]) t.release();
      onProgress?.(from + n, count);
    }
  } finally {
    fq.release();
    fp.release();
  }
  const f = empiricalFisher(grads, channels);
  const approx = fimApproximations(f, channels, rank);
  const fits = lossTermFits(grads, f, channels, approx.topVectors);
  return {
    panels: ['empirical FIM', 'diagonal', `rank ${rank}`, `DPLR (diagonal + rank ${rank})`],
    picture: renderHeatmaps([f, approx.diag, approx.lowRank, approx.dplr], channels),
    errors: approx.errors,
    lossTermErrors: fits.errors,
    topVectorCosines: fits.topVectorCosines,
    classTokenChannelMeanRatio: classToken.channelMeanRatio,
    classTokenShare: classToken.classTokenShare,
  };
}
