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
import type { SwinConfig, SwinStage } from '../model/swin-config.js';
import { expectedSwinTensors, expectedVitTensors } from '../model/checkpoint.js';
import { inputLossCandidates } from '../ops/calib-linear-input-loss.js';
import { weightLossBlock } from '../ops/calib-linear-weight-loss.js';
import { BufferPool } from '../runtime/buffer-pool.js';

/** Bytes the pool allocates for float32 tensors of these element counts. */
export function pooledBytes(...counts: number[]): number {
  return counts.reduce((sum, n) => sum + (n > 0 ? BufferPool.bucket(4 * n) : 0), 0);
}

/** The float model as VitModel or SwinModel uploads it: one buffer per tensor. */
export function modelBytes(cfg: ModelConfig): number {
  return pooledBytes(...modelTensors(cfg));
}

/**
 * Element counts of the float model's GPU tensors. A Swin's relative position bias tables stay on
 * the host: each block uploads its bias (and the shifted windows' mask) as [1 or nW, H, N, N],
 * beside each stage's token maps (u32, as large as f32).
 */
export function modelTensors(cfg: ModelConfig): number[] {
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  if (cfg.family !== 'swin') return [...expectedVitTensors(cfg).values()].map(size);
  const weights = [...expectedSwinTensors(cfg).entries()].filter(([name]) => !name.endsWith('relative_position_bias_table')).map(([, shape]) => size(shape));
  const geometry = cfg.stages.flatMap((s) => [
    ...s.windowing.flatMap((g) => [g.numWindows * g.window ** 2, s.resolution ** 2]),
    ...(s.downsample ? [4 * s.resolution ** 2, 4 * s.resolution ** 2] : []),
    ...Array.from({ length: s.depth }, (_, j) => {
      const g = s.windowing[j % 2]!;
      return (g.shift > 0 ? g.numWindows : 1) * s.numHeads * g.window ** 4;
    }),
  ]);
  return [...weights, ...geometry];
}

/**
 * Element counts of the buffers the pool holds after working sets ran one after the other: a
 * buffer released by one is reused by the next of the same bucket, so per bucket the most any
 * one set needs.
 */
export function pooledUnion(...sets: number[][]): number[] {
  const most = new Map<number, number>();
  for (const set of sets) {
    const counts = new Map<number, number>();
    for (const n of set) if (n > 0) counts.set(BufferPool.bucket(4 * n), (counts.get(BufferPool.bucket(4 * n)) ?? 0) + 1);
    for (const [bucket, count] of counts) most.set(bucket, Math.max(most.get(bucket) ?? 0, count));
  }
  return [...most].flatMap(([bucket, count]) => Array<number>(count).fill(bucket / 4));
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

/**
 * A transformer block's per-image sizes: attention on `rows` rows, windows of `window` positions
 * (a ViT: one window of all tokens), the MLP on `tokens` grid tokens.
 */
export interface BlockSizes {
  tokens: number;
  rows: number;
  window: number;
  dim: number;
  heads: number;
  hidden: number;
  /** A Swin block: its LayerNorm output is gathered into windows and its projection back. */
  windowed: boolean;
  /** Windows with padding rows: qkv's input is not folded (BlockGeometry.padded). */
  padded: boolean;
}

export function vitBlockSizes(cfg: VitConfig): BlockSizes {
  const T = cfg.numTokens;
  return { tokens: T, rows: T, window: T, dim: cfg.embedDim, heads: cfg.numHeads, hidden: cfg.mlpHidden, windowed: false, padded: false };
}

/** Block j of a Swin stage (even and odd blocks differ only in their shift). */
export function swinBlockSizes(s: SwinStage, j: number): BlockSizes {
  const g = s.windowing[j % 2]!;
  const n = g.window ** 2;
  return { tokens: s.resolution ** 2, rows: g.numWindows * n, window: n, dim: s.dim, heads: s.numHeads, hidden: s.mlpHidden, windowed: true, padded: g.padded > s.resolution };
}

/** Peak of calibrating a model of `cfg` (src/quant/calibrate.ts, calibrate-swin.ts). */
export function calibrationMemory(cfg: ModelConfig, o: CalibrationShape): PhasePeak {
  const e = new CalibrationEstimate(cfg, o);
  if (cfg.family === 'swin') e.swin(cfg);
  else e.vit(cfg);
  return e.peak.result;
}

/** The shared pieces of the calibration estimate: chunked per-image tensors, one linear's search, one block. */
class CalibrationEstimate {
  readonly peak = new PeakTracker();
  readonly model: number;
  private readonly S: number;
  private readonly eqN: number;
  private readonly search: boolean;
  private readonly reparam: boolean;
  private readonly binding: number;
  private readonly activation: number;
  private readonly perChunk: number;
  private readonly chunkCount: number;
  private readonly lastChunk: number;
  /** Images per capture batch. */
  readonly b: number;

  constructor(cfg: ModelConfig, o: CalibrationShape) {
    this.S = o.images;
    this.eqN = o.eqN;
    this.search = o.search;
    this.reparam = o.search && o.reparam;
    this.binding = o.chunkBytes ?? Infinity;
    this.model = modelBytes(cfg);
    this.activation = o.eqN + 1;
    this.perChunk = calibrationChunkImages(cfg, this.S, this.binding);
    this.b = Math.min(o.batch ?? 32, this.perChunk);
    this.chunkCount = Math.ceil(this.S / this.perChunk);
    this.lastChunk = this.S - this.perChunk * (this.chunkCount - 1);
  }

  /** The chunks (element counts) of a tensor of `size` floats per image. */
  chunks(size: number): number[] {
    return Array.from({ length: this.chunkCount }, (_, c) => Math.min(this.perChunk, this.S - c * this.perChunk) * size);
  }

  /**
   * What a loop over the chunks leaves allocated of tensors of these sizes per image, made and
   * released chunk by chunk: the full chunks' buffers and, in buckets of their own, the last one's.
   */
  private chunkLoop(...sizes: number[]): number[] {
    const full = sizes.map((n) => this.perChunk * n);
    const last = sizes.map((n) => this.lastChunk * n).filter((n, i) => BufferPool.bucket(4 * n) !== BufferPool.bucket(4 * full[i]));
    return [...full, ...last];
  }

  /** The weight loss of O channels of K weights with `candidates` each (src/ops/calib-linear-weight-loss.ts): the loss and one block's buffers. */
  private weightLoss(O: number, K: number, candidates: number): number[] {
    const channels = weightLossBlock(O, K, candidates, this.binding);
    return [O * candidates, channels * candidates * K, channels * candidates * K, ...(channels < O ? [channels * K, channels * candidates, channels * candidates] : [])];
  }

  /** The patch embedding's Gram-form weight search over the images' P patches of cpp values into D channels. */
  patchEmbed(pixels: number, P: number, cpp: number, D: number): void {
    const a = this.activation;
    if (this.search) this.peak.at('patch_embed weight search', this.model, [...this.chunks(pixels), ...this.chunks(P * cpp), D * cpp, cpp * cpp, cpp * D, 2 * D * a, ...this.weightLoss(D, cpp, a)]);
  }

  /** searchLinear over `R` rows per image of K inputs into O outputs, with `held` bytes around it. */
  linear(where: string, held: number, R: number, K: number, O: number, reparam: boolean): void {
    if (!this.search) return;
    const { S, eqN, binding, perChunk, chunkCount } = this;
    const N = S * R;
    const around = held + pooledBytes(O * K, O, ...(reparam ? this.chunks(R * K) : []), 2 * O * eqN, 2 * this.activation) + pooledBytes(...this.chunks(R * O));
    // G, g, the input quantizer's scale and zero-point, and a chunk's quantized input, prediction and residual.
    this.peak.at(`${where} output-error terms`, around, [K * K, K * O, 1, 1, ...this.chunkLoop(R * K, R * O, R * O)]);
    this.peak.at(`${where} weight loss`, around, [K * K, K * O, ...this.weightLoss(O, K, eqN)]);
    const count = inputLossCandidates(this.activation, N, perChunk * R, K, O, binding);
    // One chunk: the rows' losses straight from row-sq-diff; several: gathered into [count, N].
    const candidates = chunkCount === 1 ? [count * N * K, count * N * O, count * N] : [count * N, ...this.chunkLoop(count * R * K, count * R * O, count * R)];
    this.peak.at(`${where} input loss`, around, [O * K, ...this.chunks(R * O), ...this.chunkLoop(R * O), ...candidates, count]);
  }

  /**
   * A block: its capture forward with `forwardHeld` bytes around it, then one search at a time with
   * `held` bytes and the captures.
   */
  block(where: string, forwardHeld: number, held: number, z: BlockSizes): void {
    const { b } = this;
    const { tokens: L, rows: W, window: N, dim: D, heads: H, hidden: M } = z;
    const map = W * H * N;
    const captures = [W * D, W * 3 * D, map, W * D, L * D, L * M];
    const captured = pooledBytes(...captures.flatMap((n) => this.chunks(n)));
    this.peak.holds(...captures.map((n) => n * this.perChunk));
    // The batch's forward: the windows' gathers of a Swin block, attention on the rows, the MLP on the tokens.
    const gathers = z.windowed ? [b * W * D, b * L * D] : [];
    this.peak.at(`${where} capture forward`, forwardHeld + captured, [b * L * D, b * L * D, ...gathers, b * W * 3 * D, b * map, b * map, b * W * D, b * W * D, b * L * D, b * L * D, b * L * M, b * L * M, b * L * D]);
    const around = held + captured;
    this.linear(`${where} attn.qkv`, around, W, D, 3 * D, this.reparam && !z.padded);
    this.linear(`${where} attn.proj`, around, W, D, D, false);
    this.linear(`${where} mlp.fc1`, around, L, D, M, this.reparam);
    this.linear(`${where} mlp.fc2`, around, L, M, D, false);
    if (!this.search) return;
    const a = this.activation;
    const hd = D / H;
    const parts = (m: number, n: number) => H * a * Math.ceil(m / 4) * Math.ceil(n / 8);
    const tables = [H * a, H * a, H, H, H * a];
    // The float product per chunk, the other operand fake-quantized one chunk at a time.
    this.peak.at(`${where} q.k search`, around, [...this.chunks(map), ...this.chunkLoop(W * 3 * D), parts(N, N), ...tables]);
    this.peak.at(`${where} attn.v search`, around, [...this.chunks(W * D), ...this.chunkLoop(W * 3 * D, map), parts(N, hd), parts(hd, N), ...tables]);
  }

  vit(cfg: VitConfig): void {
    const { b, model } = this;
    const T = cfg.numTokens;
    const D = cfg.embedDim;
    const pixels = cfg.inChans * cfg.imgSize ** 2;
    this.peak.holds(...modelTensors(cfg), pixels * this.perChunk, T * D * this.perChunk);
    this.patchEmbed(pixels, cfg.numPatches, cfg.inChans * cfg.patchSize ** 2, D);
    this.peak.at('patch_embed tokens', model, [...this.chunks(pixels), ...this.chunks(T * D), b * pixels, b * T * D, b * cfg.numPatches * D]);
    // The block's input stays allocated through its searches.
    const tokens = model + pooledBytes(...this.chunks(T * D), ...this.chunks(T * D));
    this.block('blocks', tokens, tokens, vitBlockSizes(cfg));
    // Head: the class-token features of the last block's output.
    const head = model + pooledBytes(...this.chunks(T * D), ...this.chunks(D));
    this.linear('head', head, 1, D, cfg.numClasses, false);
    this.peak.at('head capture', head, [b * T * D, b * D, b * D, b * cfg.numClasses]);
  }

  swin(cfg: SwinConfig): void {
    const { b, model } = this;
    const pixels = cfg.inChans * cfg.imgSize ** 2;
    const P = cfg.gridSize ** 2;
    const cache = (n: number) => pooledBytes(...this.chunks(n));
    this.peak.holds(...modelTensors(cfg), pixels * this.perChunk);
    this.patchEmbed(pixels, P, cfg.inChans * cfg.patchSize ** 2, cfg.embedDim);
    // The conv and its LayerNorm.
    this.peak.at('patch_embed tokens', model, [...this.chunks(pixels), ...this.chunks(P * cfg.embedDim), b * pixels, b * P * cfg.embedDim, b * P * cfg.embedDim]);
    let x = P * cfg.embedDim;
    cfg.stages.forEach((s, i) => {
      const L = s.resolution ** 2;
      const y = L * s.dim;
      // Each pass's input is freed before the searches (calibrate-swin.ts trims the pool).
      if (s.downsample) {
        const p = `layers.${i}.downsample`;
        const merged = L * 4 * s.inDim;
        this.peak.holds(x * this.perChunk, merged * this.perChunk);
        this.peak.at(`${p} capture forward`, model + cache(x) + cache(y) + cache(merged), [b * x, b * merged, b * merged, b * y]);
        this.linear(`${p}.reduction`, model + cache(y) + cache(merged), L, 4 * s.inDim, s.dim, this.reparam);
        x = y;
      }
      for (let j = 0; j < s.depth; j++) {
        this.peak.holds(x * this.perChunk);
        this.block(`layers.${i}.blocks.${j}`, model + cache(x) + cache(y), model + cache(y), swinBlockSizes(s, j));
        x = y;
      }
    });
    // Head: the pooled features of the normed tokens; the tokens stay pooled through the search.
    const F = cfg.numFeatures;
    const head = model + cache(x) + cache(F);
    this.peak.at('head capture', head, [b * x, b * x, b * F, b * cfg.numClasses]);
    this.linear('head.fc', head, 1, F, cfg.numClasses, false);
  }
}
