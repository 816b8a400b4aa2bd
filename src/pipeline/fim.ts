/**
 * The paper's Figure 1 on a model: the empirical Fisher matrix of KL(T = 20) with one block
 * quantized (calibrated, W = A = bits), over the first token's first channels (a ViT's class
 * token; a Swin block's grid position (0, 0)), next to its
 * diagonal, rank-k and DPLR approximations (src/recon/fim-picture.ts), and how well the loss's
 * own terms (built from ḡ = mean |g|) fit it. What `fimaq fim` prints and the web app draws.
 */
import { type ModelCheckpoint, isSwinCheckpoint } from '../model/checkpoint.js';
import type { ModelConfig } from '../model/model-config.js';
import { swinBlocks } from '../model/swin-config.js';
import { SwinModel } from '../model/swin.js';
import { VitModel } from '../model/vit.js';
import { klGrad } from '../ops/kl-grad.js';
import { calibrateModel } from '../quant/calibrate-model.js';
import { FakeQuantModel } from '../quant/fake-quant-model.js';
import type { QuantizedModel } from '../quant/quantized-model.js';
import { ClassTokenGradientStats, empiricalFisher, fimApproximations, lossTermFits, renderHeatmaps } from '../recon/fim-picture.js';
import { type FloatModel, tailAfter, unitForward, unitNames } from '../recon/unit-graph.js';
import type { GpuContext } from '../runtime/context.js';

export interface FisherPictureRequest {
  checkpoint: ModelCheckpoint;
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
  /** A ViT's class-token gradient statistics; null for a Swin, which has no class token. */
  classTokenChannelMeanRatio: number | null;
  classTokenShare: number | null;
}

/** The blocks a picture can be taken of, in model order: unit name, tokens and width of the output. */
export function fimBlocks(cfg: ModelConfig): { name: string; tokens: number; width: number }[] {
  if (cfg.family !== 'swin') return Array.from({ length: cfg.depth }, (_, i) => ({ name: `blocks.${i}`, tokens: cfg.numTokens, width: cfg.embedDim }));
  return swinBlocks(cfg).map((b) => ({ name: b.name, tokens: cfg.stages[b.stage]!.resolution ** 2, width: cfg.stages[b.stage]!.dim }));
}

const BATCH = 32;
const TEMPERATURE = 20;

export async function fisherPicture(ctx: GpuContext, req: FisherPictureRequest, onProgress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<FisherPicture> {
  const { checkpoint: ckpt, count, block, channels, rank, bits } = req;
  const cfg = ckpt.config;
  const perImage = req.pixels.length / count;
  const searchSize = Math.min(BATCH, count);
  const target = fimBlocks(cfg)[block];
  if (!target) throw new Error(`fisherPicture: no block ${block}`);
  if (channels > target.width) throw new Error(`fisherPicture: ${channels} channels exceed ${target.name}'s width ${target.width}`);
  const cal = await calibrateModel(ctx, ckpt, req.pixels.subarray(0, searchSize * perImage), searchSize, { method: 'calib', wbits: bits, abits: bits, eqN: 32, rounds: 1, signal });
  const info = { method: 'calib', wbits: bits, abits: bits, seed: 0, calibSize: searchSize, calibData: 'fim', toolVersion: req.toolVersion };
  const fq = FakeQuantModel.upload(ctx, { ...cal.quantized, configText: ckpt.configText, info } as QuantizedModel);
  const folded = { ...ckpt, weights: cal.reparameterized };
  const fp: FloatModel = isSwinCheckpoint(folded) ? SwinModel.upload(ctx, folded) : VitModel.upload(ctx, folded);
  const units = unitNames(cfg);
  const before = units.slice(1, units.indexOf(target.name));
  const tail = tailAfter(ctx, fp, target.name);
  const grads: Float64Array[] = [];
  const classToken = cfg.family === 'swin' ? null : new ClassTokenGradientStats(cfg.numTokens, cfg.embedDim);
  try {
    for (let from = 0; from < count; from += BATCH) {
      signal?.throwIfAborted();
      const n = Math.min(BATCH, count - from);
      const images = ctx.upload(req.pixels.subarray(from * perImage, (from + n) * perImage), [n, cfg.inChans, cfg.imgSize, cfg.imgSize], 'fim.images');
      const reference = fp.forward(images);
      let x = fp.embed(images);
      for (const unit of before) {
        const next = unitForward(fp, unit, x);
        x.release();
        x = next;
      }
      // Only this block quantized, the rest in float, as the method's Fisher snapshots.
      const z = unitForward(fq.model, target.name, x, fq.hooks);
      const logits = tail.forward(z);
      const dLogits = klGrad(ctx, logits, reference, n, 'fim.dlogits', TEMPERATURE);
      const dz = tail.backward(dLogits);
      const g = await ctx.read(dz);
      const row = target.tokens * target.width;
      // Per-sample gradient of the sample's own KL: undo batchmean's 1/n; the first token's first channels.
      for (let b = 0; b < n; b++) grads.push(Float64Array.from(g.subarray(b * row, b * row + channels), (v) => v * n));
      classToken?.add(g, n);
      for (const t of [images, reference, x, z, logits, dLogits, dz]) t.release();
      onProgress?.(from + n, count);
    }
  } finally {
    tail.release();
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
    classTokenChannelMeanRatio: classToken?.channelMeanRatio ?? null,
    classTokenShare: classToken?.classTokenShare ?? null,
  };
}
