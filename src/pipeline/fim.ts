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
import { type Eigenpairs, leadingShare, residualDiagonal, topEigenpairs } from '../recon/eig-fisher.js';
import { type FloatModel, tailAfter, unitForward, unitNames } from '../recon/unit-graph.js';
import { RowCache } from '../quant/capture.js';
import { add } from '../ops/add.js';
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
  /**
   * eig-fim's own matrix, diag d + UΛUᵀ from the top `rank` eigenpairs of F over the block's whole
   * output (as the loss finds them, on the GPU): its relative Frobenius error against F on the
   * slice (beside the fits above) and over the whole output, and the share of F's trace ΛU holds.
   */
  eigLoss: { sliceError: number; fullError: number; capturedShare: number };
  /** A ViT's class-token gradient statistics; null for a Swin, which has no class token. */
  classToken: ClassTokenSummary | null;
}

export interface ClassTokenSummary {
  /** The largest |mean over channels| / rms of one image's class-token gradient. */
  channelMeanRatio: number;
  /** Its share of Σ|g| (FIMA-Q's weights), of Σg² (F's trace) and of ΛU's trace (eig-fim's eigen part). */
  absShare: number;
  squareShare: number;
  eigenShare: number;
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
  const row = target.tokens * target.width;
  // Every image's whole gradient: on the GPU for the subspace iteration, on the host for the fits.
  const gradCache = new RowCache(ctx, count, [row], 'fim.grads');
  const fullGrads: Float32Array[] = [];
  const classToken = cfg.family === 'swin' ? null : new ClassTokenGradientStats(cfg.numTokens, cfg.embedDim);
  let eig: Eigenpairs | null = null;
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
      // Per-sample gradient of the sample's own KL: undo batchmean's 1/n.
      const own = add(ctx, dz, dz, 'fim.g', n - 1);
      gradCache.put(own, from);
      const g = await ctx.read(own);
      own.release();
      // The first token's first channels.
      for (let b = 0; b < n; b++) {
        grads.push(Float64Array.from(g.subarray(b * row, b * row + channels)));
        fullGrads.push(g.subarray(b * row, (b + 1) * row));
      }
      classToken?.add(g, n);
      for (const t of [images, reference, x, z, logits, dLogits, dz]) t.release();
      onProgress?.(from + n, count);
    }
    eig = await topEigenpairs(ctx, gradCache, { rank, seed: 1 });
  } finally {
    gradCache.release();
    tail.release();
    fq.release();
    fp.release();
  }
  const f = empiricalFisher(grads, channels);
  const approx = fimApproximations(f, channels, rank);
  const fits = lossTermFits(grads, f, channels, approx.topVectors);
  if (!eig) throw new Error('fisherPicture: no eigenpairs');
  return {
    panels: ['empirical FIM', 'diagonal', `rank ${rank}`, `DPLR (diagonal + rank ${rank})`],
    picture: renderHeatmaps([f, approx.diag, approx.lowRank, approx.dplr], channels),
    errors: approx.errors,
    lossTermErrors: fits.errors,
    topVectorCosines: fits.topVectorCosines,
    eigLoss: eigLossFit(fullGrads, eig, f, channels),
    classToken: classToken && {
      channelMeanRatio: classToken.channelMeanRatio,
      absShare: classToken.classTokenShare,
      squareShare: classToken.classTokenSquareShare,
      eigenShare: leadingShare(eig, cfg.embedDim),
    },
  };
}

/**
 * How well eig-fim's matrix M = diag d + UΛUᵀ fits F = (1/n) Σ g gᵀ: on the slice's first `channels`
 * entries against the slice's F (`sliceF`), and over the whole output without forming F, from
 * ‖F‖² = (1/n²) Σ_ab (g_a·g_b)², ⟨F, M⟩ = Σ_j d_j F_jj + Σ_r λ_r (1/n) Σ_i (u_r·g_i)² and
 * ‖M‖² = Σ_j d_j² + 2 Σ_r λ_r Σ_j d_j u_rj² + Σ_r λ_r² (orthonormal u_r). In float64.
 */
export function eigLossFit(grads: Float32Array[], eig: Eigenpairs, sliceF: Float64Array, channels: number): { sliceError: number; fullError: number; capturedShare: number } {
  const n = grads.length;
  const D = grads[0]!.length;
  const diagF = new Float64Array(D);
  for (const g of grads) for (let j = 0; j < D; j++) diagF[j] += (g[j]! * g[j]!) / n;
  const d = residualDiagonal(diagF, eig);
  const k = eig.values.length;
  let sliceDiff = 0;
  let sliceNorm = 0;
  for (let i = 0; i < channels; i++)
    for (let j = 0; j < channels; j++) {
      let m = i === j ? d[i]! : 0;
      for (let r = 0; r < k; r++) m += eig.values[r]! * eig.vectors[r]![i]! * eig.vectors[r]![j]!;
      const fij = sliceF[i * channels + j]!;
      sliceDiff += (fij - m) ** 2;
      sliceNorm += fij * fij;
    }
  let fNorm = 0;
  for (let a = 0; a < n; a++)
    for (let b = 0; b < n; b++) {
      let dot = 0;
      for (let j = 0; j < D; j++) dot += grads[a]![j]! * grads[b]![j]!;
      fNorm += (dot * dot) / (n * n);
    }
  let inner = 0;
  for (let j = 0; j < D; j++) inner += d[j]! * diagF[j]!;
  let mNorm = 0;
  for (let j = 0; j < D; j++) mNorm += d[j]! ** 2;
  eig.vectors.forEach((u, r) => {
    const lambda = eig.values[r]!;
    let projected = 0;
    for (const g of grads) {
      let dot = 0;
      for (let j = 0; j < D; j++) dot += u[j]! * g[j]!;
      projected += (dot * dot) / n;
    }
    inner += lambda * projected;
    let weighted = 0;
    for (let j = 0; j < D; j++) weighted += d[j]! * u[j]! * u[j]!;
    mNorm += 2 * lambda * weighted + lambda * lambda;
  });
  const trace = diagF.reduce((a, b) => a + b, 0);
  return {
    sliceError: Math.sqrt(sliceDiff / sliceNorm),
    fullError: Math.sqrt(Math.max(fNorm - 2 * inner + mNorm, 0) / fNorm),
    capturedShare: trace > 0 ? eig.values.reduce((a, b) => a + b, 0) / trace : 0,
  };
}
