/**
 * GPU memory of the calibration search (src/quant/calibrate.ts), counted tensor by tensor as the
 * search allocates them, each rounded to the buffer pool's size buckets. The pool is trimmed
 * between stages, between a block's capture forward and its searches, and between a linear's
 * weight and input losses (src/quant/search.ts), so the peak is the persistent tensors of a block
 * plus the largest single working set.
 */
import type { VitConfig } from '../model/config.js';
import { expectedVitTensors } from '../model/checkpoint.js';
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

/** Elements of the candidate errors one input-loss chunk materialises (src/ops/calib-linear-input-loss.ts). */
export const INPUT_LOSS_CHUNK_ELEMENTS = 16 * 1024 * 1024;

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
  const b = Math.min(o.batch ?? 32, S);
  const cpp = cfg.inChans * cfg.patchSize ** 2;
  const model = modelBytes(cfg);
  const peak = new PeakTracker();
  const activation = eqN + 1;

  /** searchLinear over N rows of K inputs into O outputs, with `held` bytes around it. */
  const linear = (where: string, held: number, N: number, K: number, O: number, reparam: boolean) => {
    const around = held + pooledBytes(O * K, O, reparam ? N * K : 0, 2 * O * eqN, 2 * activation);
    if (!search) return;
    const y = pooledBytes(N * O);
    peak.at(`${where} output-error terms`, around + y, [N * K, K * K, N * O, N * O, K * O]);
    peak.at(`${where} weight loss`, around + y, [K * K, K * O, O * eqN * K, O * eqN * K, O * eqN]);
    const chunk = Math.max(1, Math.min(activation, Math.floor(INPUT_LOSS_CHUNK_ELEMENTS / (N * Math.max(K, O)))));
    peak.at(`${where} input loss`, around + y, [O * K, N * O, N * O, chunk * N * K, chunk * N * O, chunk * N, chunk]);
  };

  // Patch embedding: the images, their patches and the conv weight's Gram-form search.
  const images4 = S * cfg.inChans * cfg.imgSize ** 2;
  if (search) peak.at('patch_embed weight search', model, [images4, S * P * cpp, D * cpp, cpp * cpp, cpp * D, D * activation * cpp, D * activation * cpp, D * activation]);
  peak.at('patch_embed tokens', model, [images4, S * T * D, b * cfg.inChans * cfg.imgSize ** 2, b * T * D, b * P * D]);

  // A block: its input and output, the captured tensors, then one search at a time.
  const captures = [S * T * D, S * T * 3 * D, S * A * T, S * T * D, S * T * D, S * T * M];
  const block = model + pooledBytes(S * T * D, S * T * D, ...captures);
  peak.holds(...modelTensors(cfg), S * T * D, ...captures);
  peak.at('blocks capture forward', block, [b * T * D, b * T * D, b * T * 3 * D, b * A * T, b * A * T, b * T * D, b * T * D, b * T * D, b * T * D, b * T * M, b * T * M, b * T * D]);
  const reparamOn = search && o.reparam;
  linear('blocks attn.qkv', block, S * T, D, 3 * D, reparamOn);
  linear('blocks attn.proj', block, S * T, D, D, false);
  linear('blocks mlp.fc1', block, S * T, D, M, reparamOn);
  linear('blocks mlp.fc2', block, S * T, M, D, false);
  if (search) {
    const parts = (m: number, n: number) => H * activation * Math.ceil(m / 4) * Math.ceil(n / 8);
    peak.at('blocks q.k search', block, [S * A * T, S * T * 3 * D, parts(T, T), H * activation, 2 * H * activation]);
    peak.at('blocks attn.v search', block, [S * T * D, S * A * T, parts(T, D / H), H * activation, 2 * H * activation]);
  }

  // Head: the class-token features of the last block's output.
  const head = model + pooledBytes(S * T * D, S * D);
  linear('head', head, S, D, cfg.numClasses, false);
  peak.at('head capture', head, [b * T * D, b * D, b * D, b * cfg.numClasses]);
  return peak.result;
}
