/**
 * GPU memory of the calibration search (src/quant/calibrate.ts), counted tensor by tensor as the
 * search allocates them, each rounded to the buffer pool's size buckets. The pool is trimmed
 * between stages, between a block's capture forward and its searches, and between a linear's
 * weight and input losses (src/quant/search.ts), so the peak is the persistent tensors of a block
 * plus the largest single working set. Per-image tensors are kept in chunks of whole images
 * (calibrationChunkImages), and the searches work on one chunk at a time where they can.
 */
import type { VitConfig } from '../model/config.js';
import type { ModelConfig } from '../model/model-config.js';
import { expectedVitTensors } from '../model/checkpoint.js';
import { inputLossCandidates } from '../ops/calib-linear-input-loss.js';
import { weightLossBlock } from '../ops/calib-linear-weight-loss.js';
import { BufferPool } from '../runtime/buffer-pool.js';

/** Bytes the pool allocates for float32 tensors of these element counts. */
export function pooledBytes(...counts: number[]): number {
  return counts.reduce((sum, n) => sum + (n > 0 ? BufferPool.bucket(4 * n) : 0), 0);
}

/** The float model as VitModel uploads it: one buffer per tensor. */
export function modelBytes(cfg: VitConfig): number {
  return pooledBytes(...modelTensors(cfg));
}

/** Element counts of the float model's tensors. */
export function modelTensors(cfg: VitConfig): number[] {
  return [...expectedVitTensors(cfg).values()].map((shape) => shape.reduce((a, b) => a * b, 1));
}

export interface PhasePeak {
  /** Peak bytes the phase holds at once (pooled buffers included). */
  peakBytes: number;
  /** Where the peak falls, e.g. "blocks.0 mlp.fc2 weight loss". */
  peakAt: string;
  /** The largest single buffer, which must fit one storage binding. */
  largestBufferBytes: number;
}

/** Tracks the largest of several named working sets, and the largest buffer among them. */
export class PeakTracker {
  peakBytes = 0;
  peakAt = '';
  largestBufferBytes = 0;

  /** A moment at which `persistent` bytes are held plus the given working-set tensors (element counts). */
  at(where: string, persistent: number, tensors: number[]): void {
    const bytes = persistent + pooledBytes(...tensors);
    for (const n of tensors) this.largestBufferBytes = Math.max(this.largestBufferBytes, BufferPool.bucket(4 * n));
    if (bytes > this.peakBytes) {
      this.peakBytes = bytes;
      this.peakAt = where;
    }
  }

  /** Buffers held through the phase (captures, caches, weights): they must fit a binding too. */
  holds(...tensors: number[]): void {
    for (const n of tensors) this.largestBufferBytes = Math.max(this.largestBufferBytes, BufferPool.bucket(4 * n));
  }

  get result(): PhasePeak {
    return { peakBytes: this.peakBytes, peakAt: this.peakAt, largestBufferBytes: this.largestBufferBytes };
  }
}

/**
 * Floats per image of the widest tensor calibration keeps per image: the images and their patches,
 * the captures (fc1's output is fc2's input; the attention map) and what the searches derive from
 * them (a linear's output and residual, q.kᵀ, attn.v).
 */
export function calibrationImageFloats(cfg: ModelConfig): number {
  const image = Math.max(cfg.inChans * cfg.imgSize ** 2, (cfg.imgSize / cfg.patchSize) ** 2 * cfg.inChans * cfg.patchSize ** 2, cfg.numClasses);
  if (cfg.family === 'swin') {
    // A Swin's attention runs on every (padded) window: qkv, the map and q.kᵀ hold nW·N rows per image.
    const stages = cfg.stages.map((s) => {
      const windowed = Math.max(...s.windowing.map((g) => g.numWindows * g.window ** 2));
      const n = Math.max(...s.windowing.map((g) => g.window ** 2));
      return Math.max(windowed * 3 * s.dim, windowed * s.numHeads * n, s.resolution ** 2 * s.mlpHidden, s.resolution ** 2 * 4 * s.inDim);
    });
    return Math.max(image, ...stages);
  }
  const T = cfg.numTokens;
  return Math.max(image, T * 3 * cfg.embedDim, T * cfg.mlpHidden, cfg.numHeads * T * T);
}

/**
 * Images per chunk of every per-image tensor of calibration (src/quant/calibrate.ts): as many whole
 * images as one storage binding holds of the widest (at least one).
 */
export function calibrationChunkImages(cfg: ModelConfig, images: number, bindingBytes: number): number {
  return Math.max(1, Math.min(images, Math.floor(bindingBytes / (4 * calibrationImageFloats(cfg)))));
}

export interface CalibrationShape {
  /** Search images. */
  images: number;
  /** Candidates per grid (eq_n). */
  eqN: number;
  /** false: min/max (`rtn`), which only captures. */
  search: boolean;
  /** RepQ-ViT folding (the qkv and fc1 inputs are uploaded again, folded). */
  reparam: boolean;
  /** Images per capture batch. */
  batch?: number;
  /** The largest storage binding (the context's maxBindingBytes): per-image tensors are kept in chunks of whole images within it. */
  chunkBytes?: number;
}

/** Peak of calibrating a model of `cfg`. */
export function calibrationMemory(cfg: VitConfig, o: CalibrationShape): PhasePeak {
  const { eqN, search } = o;
  const S = o.images;
  const T = cfg.numTokens;
  const D = cfg.embedDim;
  const H = cfg.numHeads;
  const M = cfg.mlpHidden;
  const P = cfg.numPatches;
  const A = H * T;
  const cpp = cfg.inChans * cfg.patchSize ** 2;
  const pixels = cfg.inChans * cfg.imgSize ** 2;
  const binding = o.chunkBytes ?? Infinity;
  const model = modelBytes(cfg);
  const peak = new PeakTracker();
  const activation = eqN + 1;

  const perChunk = calibrationChunkImages(cfg, S, binding);
  const b = Math.min(o.batch ?? 32, perChunk);
  const chunkCount = Math.ceil(S / perChunk);
  const lastChunk = S - perChunk * (chunkCount - 1);
  /** The chunks (element counts) of a tensor of `size` floats per image. */
  const chunks = (size: number): number[] => Array.from({ length: chunkCount }, (_, c) => Math.min(perChunk, S - c * perChunk) * size);
  /**
   * What a loop over the chunks leaves allocated of tensors of these sizes per image, made and
   * released chunk by chunk: the full chunks' buffers and, in buckets of their own, the last one's.
   */
  const chunkLoop = (...sizes: number[]): number[] => {
    const full = sizes.map((n) => perChunk * n);
    const last = sizes.map((n) => lastChunk * n).filter((n, i) => BufferPool.bucket(4 * n) !== BufferPool.bucket(4 * full[i]));
    return [...full, ...last];
  };
  /** The weight loss of O channels of K weights with `candidates` each (src/ops/calib-linear-weight-loss.ts): the loss and one block's buffers. */
  const weightLoss = (O: number, K: number, candidates: number): number[] => {
    const channels = weightLossBlock(O, K, candidates, binding);
    return [O * candidates, channels * candidates * K, channels * candidates * K, ...(channels < O ? [channels * K, channels * candidates, channels * candidates] : [])];
  };

  /** searchLinear over `R` rows per image of K inputs into O outputs, with `held` bytes around it. */
  const linear = (where: string, held: number, R: number, K: number, O: number, reparam: boolean) => {
    if (!search) return;
    const N = S * R;
    const around = held + pooledBytes(O * K, O, ...(reparam ? chunks(R * K) : []), 2 * O * eqN, 2 * activation) + pooledBytes(...chunks(R * O));
    // G, g, the input quantizer's scale and zero-point, and a chunk's quantized input, prediction and residual.
    peak.at(`${where} output-error terms`, around, [K * K, K * O, 1, 1, ...chunkLoop(R * K, R * O, R * O)]);
    peak.at(`${where} weight loss`, around, [K * K, K * O, ...weightLoss(O, K, eqN)]);
    const count = inputLossCandidates(activation, N, perChunk * R, K, O, binding);
    // One chunk: the rows' losses straight from row-sq-diff; several: gathered into [count, N].
    const candidates = chunkCount === 1 ? [count * N * K, count * N * O, count * N] : [count * N, ...chunkLoop(count * R * K, count * R * O, count * R)];
    peak.at(`${where} input loss`, around, [O * K, ...chunks(R * O), ...chunkLoop(R * O), ...candidates, count]);
  };

  // Patch embedding: the images, their patches and the conv weight's Gram-form search.
  if (search) peak.at('patch_embed weight search', model, [...chunks(pixels), ...chunks(P * cpp), D * cpp, cpp * cpp, cpp * D, 2 * D * activation, ...weightLoss(D, cpp, activation)]);
  peak.at('patch_embed tokens', model, [...chunks(pixels), ...chunks(T * D), b * pixels, b * T * D, b * P * D]);

  // A block: its input and output, the captured tensors, then one search at a time.
  const captures = [T * D, T * 3 * D, A * T, T * D, T * D, T * M];
  const block = model + pooledBytes(...chunks(T * D), ...chunks(T * D), ...captures.flatMap(chunks));
  peak.holds(...modelTensors(cfg), pixels * perChunk, ...[T * D, ...captures].map((n) => n * perChunk));
  peak.at('blocks capture forward', block, [b * T * D, b * T * D, b * T * 3 * D, b * A * T, b * A * T, b * T * D, b * T * D, b * T * D, b * T * D, b * T * M, b * T * M, b * T * D]);
  const reparamOn = search && o.reparam;
  linear('blocks attn.qkv', block, T, D, 3 * D, reparamOn);
  linear('blocks attn.proj', block, T, D, D, false);
  linear('blocks mlp.fc1', block, T, D, M, reparamOn);
  linear('blocks mlp.fc2', block, T, M, D, false);
  if (search) {
    const hd = D / H;
    const parts = (m: number, n: number) => H * activation * Math.ceil(m / 4) * Math.ceil(n / 8);
    const tables = [H * activation, H * activation, H, H, H * activation];
    // The float product per chunk, the other operand fake-quantized one chunk at a time.
    peak.at('blocks q.k search', block, [...chunks(A * T), ...chunkLoop(T * 3 * D), parts(T, T), ...tables]);
    peak.at('blocks attn.v search', block, [...chunks(T * D), ...chunkLoop(T * 3 * D, A * T), parts(T, hd), parts(hd, T), ...tables]);
  }

  // Head: the class-token features of the last block's output.
  const head = model + pooledBytes(...chunks(T * D), ...chunks(D));
  linear('head', head, 1, D, cfg.numClasses, false);
  peak.at('head capture', head, [b * T * D, b * D, b * D, b * cfg.numClasses]);
  return peak.result;
}
