/**
 * GPU memory of reconstruction (src/recon/reconstruct.ts), counted tensor by tensor as it
 * allocates them, each rounded to the buffer pool's size buckets. Held all along: the float and
 * the fake-quant model, the float logits (Fisher methods). Per unit: the caches of its float
 * inputs, float outputs and quantized-prefix inputs for every calibration image, BRECQ's
 * per-sample gradients, the unit's AdaRound state, and one working set at a time (a training
 * step, a Fisher snapshot or BRECQ's gradients through the float rest of the model, the next
 * unit's inputs). The pool is trimmed between those, so they do not add up.
 */
import type { VitConfig } from '../model/config.js';
import { BufferPool } from '../runtime/buffer-pool.js';
import { modelBytes, modelTensors, type PhasePeak, PeakTracker, pooledBytes } from '../quant/memory.js';
import type { ReconMethod } from './reconstruct.js';

export interface ReconShape {
  /** Calibration images cached on the GPU. */
  images: number;
  /** Minibatch size (also the batch of snapshots and cache building). */
  batch: number;
  method: ReconMethod;
  /** Fisher snapshots per unit (the rank of the low-rank term). */
  rank: number;
  /** Largest cache chunk (the adapter's largest storage binding). */
  chunkBytes?: number;
}

/** Rows per chunk of a RowCache of `rows` rows of `rowSize` floats, as src/quant/capture.ts splits it. */
function rowsPerChunk(rows: number, rowSize: number, chunkBytes: number): number {
  return Math.max(1, Math.min(rows, Math.floor(chunkBytes / (4 * rowSize))));
}

/** Bytes of such a RowCache. */
export function cacheBytes(rows: number, rowSize: number, chunkBytes = Infinity): number {
  const perChunk = rowsPerChunk(rows, rowSize, chunkBytes);
  let bytes = 0;
  for (let first = 0; first < rows; first += perChunk) bytes += BufferPool.bucket(4 * rowSize * Math.min(perChunk, rows - first));
  return bytes;
}

/** Buffers per parameter of a weight under AdaRound: base, alpha, Adam's two moments, the soft weight, its gradient and alpha's. */
const ADAROUND_BUFFERS = 7;

export function reconMemory(cfg: VitConfig, o: ReconShape): PhasePeak {
  const N = o.images;
  const B = Math.min(o.batch, N);
  const T = cfg.numTokens;
  const P = cfg.numPatches;
  const D = cfg.embedDim;
  const M = cfg.mlpHidden;
  const A = cfg.numHeads * T;
  const C = cfg.numClasses;
  const cpp = cfg.inChans * cfg.patchSize ** 2;
  const k = o.rank;
  const fisher = o.method === 'fimaq' || o.method === 'diag-fim' || o.method === 'lr-fim';
  const cache = (rowSize: number) => cacheBytes(N, rowSize, o.chunkBytes);
  const peak = new PeakTracker();
  // The largest chunk of each kind of cache, and the weights.
  const chunk = (rowSize: number) => rowsPerChunk(N, rowSize, o.chunkBytes ?? Infinity) * rowSize;
  peak.holds(...modelTensors(cfg), chunk(cfg.inChans * cfg.imgSize ** 2), chunk(P * cpp), chunk(T * D), o.method === 'mse' ? 0 : chunk(C));

  // The float model, the fake-quant model (dequantized weights and its activation quantizers) and
  // the float logits of the Fisher methods.
  const models = 2 * modelBytes(cfg) + pooledBytes(...Array(8 * cfg.depth).fill(A));
  const held = models + (o.method === 'mse' ? 0 : cache(C));

  /** A unit's AdaRound state for weights of these sizes. */
  const adaround = (...weights: number[]) => weights.reduce((sum, n) => sum + ADAROUND_BUFFERS * pooledBytes(n), 0);
  /** The float rest of the model after block `first` (all blocks for the patch embedding), forward kept for backward. */
  const tail = (first: number) => {
    const blocks = cfg.depth - first;
    const perBlock = [B * T * D, B * T * D, B * T * 3 * D, B * A * T, B * T * D, B * T * D, B * T * D, B * T * M, B * T * M];
    return [...Array.from({ length: blocks }, () => perBlock).flat(), B * T * D, B * D, B * D, B * C, B * C, B * T * D, B * T * M, B * T * M, B * A * T, B * A * T];
  };
  /** The loss's state and per-step tensors for an output of `out` floats per image. */
  const lossTensors = (out: number) => (fisher ? [k * out, out, k * k, B * k, B * k, B * out, B * out] : [B * out]);
  /** A Fisher snapshot or BRECQ's gradient pass: the unit's forward, the tail's forward and backward. */
  const tailPass = (where: string, persistent: number, unitForward: number[], first: number, out: number, input: number) => {
    if (o.method === 'mse') return;
    const tailTensors = tail(first);
    const tailSum = pooledBytes(...tailTensors);
    const unitSum = pooledBytes(...unitForward);
    // The unit's forward is discarded before the tail runs: its buffers are reused by the tail's of equal size.
    peak.at(where, persistent + Math.max(0, unitSum - tailSum), [...tailTensors, B * input, B * out, B * out, B * C, out, out]);
  };

  // Patch embedding: the images, their patches and the float outputs.
  {
    const caches = held + cache(cfg.inChans * cfg.imgSize ** 2) + cache(P * cpp) + cache(P * D) + (o.method === 'brecq-fim' ? cache(P * D) : 0);
    const state = adaround(D * cpp) + pooledBytes(D, D, D);
    const step = [B * P * cpp, B * P * D, B * P * D, B * P * D, B * P * D, ...lossTensors(P * D)];
    peak.at('patch_embed step', caches + state, step);
    tailPass('patch_embed Fisher pass', caches + state, [B * P * D], 0, P * D, P * cpp);
    peak.at('patch_embed next inputs', held + cache(cfg.inChans * cfg.imgSize ** 2) + cache(P * cpp) + cache(P * D) + 2 * cache(T * D), [B * cfg.inChans * cfg.imgSize ** 2, B * T * D, B * P * cpp, B * P * D, B * T * D]);
  }

  // A block (the first is the largest: its tail is the longest).
  {
    const caches = held + 3 * cache(T * D) + (o.method === 'brecq-fim' ? cache(T * D) : 0);
    const state = adaround(3 * D * D, D * D, M * D, D * M) + pooledBytes(3 * D, D, M, D, D, D, D, D, ...Array(8).fill(A));
    // Saved for the backward (19 token-sized, 3 map-sized, 4 hidden-sized tensors per image), the
    // step's inputs and output, and the backward's gradients.
    const saved = [...Array(19).fill(B * T * D), ...Array(3).fill(B * A * T), ...Array(4).fill(B * T * M)];
    const io = [B * T * D, B * T * D, B * T * D, B * T * D, B * T * D, B * T * D];
    const grads = [B * T * D, B * T * D, B * T * 3 * D, B * T * 3 * D, B * A * T, B * A * T, B * T * M, B * T * M];
    peak.at('blocks.0 step', caches + state, [...saved, ...io, ...grads, ...lossTensors(T * D)]);
    tailPass('blocks.0 Fisher pass', caches + state, saved, 1, T * D, T * D);
    peak.at('blocks next inputs', held + 4 * cache(T * D), [B * T * D, B * T * D, B * T * 3 * D, B * A * T, B * A * T, B * T * D, B * T * D, B * T * M, B * T * M]);
  }

  // The head: class-token features.
  {
    const caches = held + 3 * cache(D) + cache(C);
    peak.at('head step', caches + adaround(C * D) + pooledBytes(C, 1, 1), [B * D, B * D, B * C, B * C, B * C, B * C]);
  }
  return peak.result;
}
