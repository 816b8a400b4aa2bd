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
import type { ModelConfig } from '../model/model-config.js';
import { type SwinConfig, swinSteps } from '../model/swin-config.js';
import { BufferPool } from '../runtime/buffer-pool.js';
import { type BlockSizes, type PhasePeak, PeakTracker, modelBytes, modelTensors, pooledBytes, pooledUnion, swinBlockSizes, vitBlockSizes } from '../quant/memory.js';
import { EIG_OVERSAMPLE } from './eig-fisher.js';
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

export function reconMemory(cfg: ModelConfig, o: ReconShape): PhasePeak {
  const e = new ReconEstimate(cfg, o);
  if (cfg.family === 'swin') e.swin(cfg);
  else e.vit(cfg);
  return e.peak.result;
}

/** The shared pieces of the reconstruction estimate; `vit` and `swin` walk their units. */
class ReconEstimate {
  readonly peak = new PeakTracker();
  private readonly B: number;
  private readonly k: number;
  private readonly fisher: boolean;
  private readonly C: number;

  constructor(private readonly cfg: ModelConfig, private readonly o: ReconShape) {
    this.B = Math.min(o.batch, o.images);
    this.k = o.rank;
    // Losses refreshed between training steps (snapshots, eig-fim's eigenpairs).
    this.fisher = o.method === 'fimaq' || o.method === 'diag-fim' || o.method === 'lr-fim' || o.method === 'eig-fim';
    this.C = cfg.numClasses;
    const chunk = (rowSize: number) => rowsPerChunk(o.images, rowSize, o.chunkBytes ?? Infinity) * rowSize;
    // The largest chunk of each kind of cache, and the weights.
    const tokens = cfg.family === 'swin' ? cfg.gridSize ** 2 * cfg.embedDim : cfg.numTokens * cfg.embedDim;
    const patches = (cfg.family === 'swin' ? cfg.gridSize ** 2 : cfg.numPatches) * cfg.inChans * cfg.patchSize ** 2;
    this.peak.holds(...modelTensors(cfg), chunk(cfg.inChans * cfg.imgSize ** 2), chunk(patches), chunk(tokens), o.method === 'mse' ? 0 : chunk(this.C));
  }

  /** A cache of `rowSize` floats per calibration image. */
  cache(rowSize: number): number {
    return cacheBytes(this.o.images, rowSize, this.o.chunkBytes);
  }

  /**
   * The float and the fake-quant model (dequantized weights and `scales`, its activation
   * quantizers), and the float logits of every method but MSE.
   */
  held(scales: number[]): number {
    return 2 * modelBytes(this.cfg) + pooledBytes(...scales) + (this.o.method === 'mse' ? 0 : this.cache(this.C));
  }

  /** A unit's AdaRound state for weights of these sizes. */
  adaround(...weights: number[]): number {
    return weights.reduce((sum, n) => sum + ADAROUND_BUFFERS * pooledBytes(n), 0);
  }

  /** The loss's state and per-step tensors for an output of `out` floats per image. */
  lossTensors(out: number): number[] {
    const { B, k } = this;
    return this.fisher ? [k * out, out, k * k, B * k, B * k, B * out, B * out] : [B * out];
  }

  /** The per-image gradient cache of a unit's output (BRECQ, eig-fim). */
  gradCache(out: number): number {
    return this.o.method === 'brecq-fim' || this.o.method === 'eig-fim' ? this.cache(out) : 0;
  }

  /**
   * A Fisher snapshot or BRECQ's gradient pass, then the float tail's forward and backward
   * (`tail`). A snapshot runs the unit's training forward (`unit.saved`) and discards it before
   * the tail; snapshots after the first come between training steps, whose buffers (`unit.step`)
   * the pool still holds. BRECQ's pass runs once, before any step, from the float unit's output
   * (`unit.float`, its forward's tensors).
   */
  tailPass(where: string, persistent: number, unit: { step: number[]; saved: number[]; float: number[] }, tail: number[], out: number, input: number): void {
    if (this.o.method === 'mse') return;
    const { B, C } = this;
    // eig-fim also scales each batch's gradients, then iterates on the subspace: Q and Z [m, out], G·Qᵀ [images, m].
    const m = this.k + EIG_OVERSAMPLE;
    const eig = this.o.method === 'eig-fim' ? [B * out, m * out, m * out, this.o.images * m] : [];
    const pass = [...tail, B * input, B * out, B * out, B * C, out, out, ...eig];
    this.peak.at(where, persistent, this.fisher ? pooledUnion(unit.step, unit.saved, pass) : pooledUnion(unit.float, pass));
  }

  /** What a float block of the tail keeps for its backward: its output, qkv, the map, the first residual and fc1's output. */
  tailBlockKept(z: BlockSizes): number[] {
    const { B } = this;
    const { tokens: L, rows: W, window: N, dim: D, heads: H, hidden: M } = z;
    return [B * L * D, B * W * 3 * D, B * W * H * N, B * L * D, B * L * M];
  }

  /** A float tail block's temporaries, which the next block of the same sizes reuses from the pool. */
  tailBlockTemporaries(z: BlockSizes): number[] {
    const { B } = this;
    const { tokens: L, rows: W, window: N, dim: D, heads: H, hidden: M } = z;
    return [B * L * D, B * W * H * N, B * W * D, B * W * D, B * L * D, B * L * M, B * L * D, ...(z.windowed ? [B * W * D, B * L * D] : [])];
  }

  /** The tail backward's working tensors at a block of these sizes. */
  tailBackward(z: BlockSizes): number[] {
    const { B } = this;
    const { tokens: L, rows: W, window: N, dim: D, heads: H, hidden: M } = z;
    return [B * L * D, B * L * M, B * L * M, B * W * H * N, B * W * H * N, ...(z.windowed ? [B * W * 3 * D, B * W * D] : [])];
  }

  /** A block unit's training step (saved forward, inputs and output, backward gradients, loss), its AdaRound state, and the tensors of its plain forward (float, or fake-quant for the next unit's inputs). */
  block(z: BlockSizes, scales: number): { state: number; step: number[]; saved: number[]; float: number[] } {
    const { B } = this;
    const { tokens: L, rows: W, window: N, dim: D, heads: H, hidden: M } = z;
    const map = W * H * N;
    const state = this.adaround(3 * D * D, D * D, M * D, D * M) + pooledBytes(3 * D, D, M, D, D, D, D, D, ...Array(8).fill(scales));
    // Saved for the backward: the windows, their quantized copy and noise, q, k and v's noise, the
    // context, its quantized copy and noise (window-row-sized); qkv and its quantized copy; the map,
    // its quantized copy and noise; 4 token-sized and 4 hidden-sized tensors per image.
    const saved = [...Array(9).fill(B * W * D), B * W * 3 * D, B * W * 3 * D, ...Array(4).fill(B * L * D), ...Array(3).fill(B * map), ...Array(4).fill(B * L * M)];
    const io = [...Array(6).fill(B * L * D), ...(z.windowed ? [B * L * D, B * W * D] : [])];
    const grads = [B * L * D, B * W * D, B * W * 3 * D, B * W * 3 * D, B * map, B * map, B * L * M, B * L * M, ...(z.windowed ? [B * W * D] : [])];
    const float = [B * L * D, B * L * D, B * W * 3 * D, B * map, B * map, B * W * D, B * W * D, B * L * M, B * L * M, ...(z.windowed ? [B * L * D, B * W * D] : [])];
    return { state, step: [...saved, ...io, ...grads, ...this.lossTensors(L * D)], saved, float };
  }

  vit(cfg: VitConfig): void {
    const { B, C } = this;
    const T = cfg.numTokens;
    const P = cfg.numPatches;
    const D = cfg.embedDim;
    const M = cfg.mlpHidden;
    const A = cfg.numHeads * T;
    const cpp = cfg.inChans * cfg.patchSize ** 2;
    const pixels = cfg.inChans * cfg.imgSize ** 2;
    const z = vitBlockSizes(cfg);
    const held = this.held(Array(8 * cfg.depth).fill(A));
    /** The float rest of the model after block `first` (all blocks for the patch embedding), forward kept for backward. */
    const tail = (first: number) => [
      ...Array.from({ length: cfg.depth - first }, () => this.tailBlockKept(z)).flat(),
      ...(first < cfg.depth ? pooledUnion(this.tailBlockTemporaries(z), this.tailBackward(z)) : []),
      B * T * D, B * D, B * D, B * C, B * C,
    ];

    // Patch embedding: the images, their patches and the float outputs.
    {
      const caches = held + this.cache(pixels) + this.cache(P * cpp) + this.cache(P * D) + this.gradCache(P * D);
      const state = this.adaround(D * cpp) + pooledBytes(D, D, D);
      const step = [B * P * cpp, B * P * D, B * P * D, B * P * D, B * P * D, ...this.lossTensors(P * D)];
      this.peak.at('patch_embed step', caches + state, step);
      this.tailPass('patch_embed Fisher pass', caches + state, { step, saved: [B * P * D], float: [B * P * D] }, tail(0), P * D, P * cpp);
      this.peak.at('patch_embed next inputs', held + this.cache(pixels) + this.cache(P * cpp) + this.cache(P * D) + 2 * this.cache(T * D), [B * pixels, B * T * D, B * P * cpp, B * P * D, B * T * D]);
    }

    // A block (the first is the largest: its tail is the longest).
    {
      const caches = held + 3 * this.cache(T * D) + this.gradCache(T * D);
      const b = this.block(z, A);
      this.peak.at('blocks.0 step', caches + b.state, b.step);
      this.tailPass('blocks.0 Fisher pass', caches + b.state, b, tail(1), T * D, T * D);
      this.peak.at('blocks next inputs', held + 4 * this.cache(T * D), [B * T * D, B * T * D, B * T * 3 * D, B * A * T, B * A * T, B * T * D, B * T * D, B * T * M, B * T * M]);
    }

    // The head: class-token features.
    {
      const caches = held + 3 * this.cache(D) + this.cache(C);
      this.peak.at('head step', caches + this.adaround(C * D) + pooledBytes(C, 1, 1), [B * D, B * D, B * C, B * C, B * C, B * C]);
    }
  }

  /**
   * A Swin: the patch embedding (the conv and its LayerNorm), each patch merging and block, the
   * head (average pool and fc on the normed tokens). Every unit is counted: each has a tail of
   * its own, and the stages differ in size.
   */
  swin(cfg: SwinConfig): void {
    const { B, C } = this;
    const P = cfg.gridSize ** 2;
    const E = cfg.embedDim;
    const F = cfg.numFeatures;
    const cpp = cfg.inChans * cfg.patchSize ** 2;
    const pixels = cfg.inChans * cfg.imgSize ** 2;
    const steps = swinSteps(cfg);
    const sizes = (stage: number, j: number) => swinBlockSizes(cfg.stages[stage]!, j);
    // Activation quantizers: a block's eight are per window position (and head) or per grid token.
    const scales = (z: BlockSizes) => Math.max(z.heads * z.window, z.tokens);
    const held = this.held(steps.flatMap((s) => (s.kind === 'block' ? Array(8).fill(scales(sizes(s.stage, s.index))) : [1])));
    /** Floats per image entering step `i` (i = steps.length: the head's tokens). */
    const tokensAt = (i: number) => {
      const s = steps[i];
      if (!s) return cfg.stages.at(-1)!.resolution ** 2 * F;
      const st = cfg.stages[s.stage]!;
      return s.kind === 'merge' ? 4 * st.resolution ** 2 * st.inDim : st.resolution ** 2 * st.dim;
    };
    /** Floats per image step `i` outputs (i = steps.length: the head's logits). */
    const outAt = (i: number) => {
      const s = steps[i];
      return s ? cfg.stages[s.stage]!.resolution ** 2 * cfg.stages[s.stage]!.dim : C;
    };
    /** The float rest from step `first` on (all steps for the patch embedding): forward kept, and the backward's working sets. */
    const tail = (first: number): number[] => {
      const rest = steps.slice(first);
      const kept = rest.flatMap((s) => {
        const st = cfg.stages[s.stage]!;
        const L = st.resolution ** 2;
        return s.kind === 'block' ? this.tailBlockKept(sizes(s.stage, s.index)) : [B * L * 4 * st.inDim, B * L * st.dim];
      });
      // Temporaries and the backward's working sets: each stage's of their own sizes, all kept by the pool.
      const working = pooledUnion(...rest.flatMap((s) => {
        const st = cfg.stages[s.stage]!;
        if (s.kind === 'merge') return [[B * st.resolution ** 2 * 4 * st.inDim, B * st.resolution ** 2 * 4 * st.inDim, B * 4 * st.resolution ** 2 * st.inDim]];
        const z = sizes(s.stage, s.index);
        return [pooledUnion(this.tailBlockTemporaries(z), this.tailBackward(z))];
      }));
      const Lh = cfg.stages.at(-1)!.resolution ** 2;
      return [...kept, ...working, B * Lh * F, B * F, B * C, B * C, B * F, B * Lh * F, B * Lh * F];
    };

    // Patch embedding: the images, their patches and the float outputs; the unit keeps its conv output for the LayerNorm's backward.
    {
      const out = P * E;
      const caches = held + this.cache(pixels) + this.cache(P * cpp) + this.cache(out) + this.gradCache(out);
      const state = this.adaround(E * cpp) + pooledBytes(E, E, E, E, E);
      const step = [B * P * cpp, ...Array(6).fill(B * out), ...this.lossTensors(out)];
      this.peak.at('patch_embed step', caches + state, step);
      this.tailPass('patch_embed Fisher pass', caches + state, { step, saved: [B * out, B * out], float: [B * out] }, tail(0), out, P * cpp);
      this.peak.at('patch_embed next inputs', held + this.cache(pixels) + this.cache(P * cpp) + 3 * this.cache(out), [B * pixels, B * out, B * out, B * P * cpp, B * out, B * out]);
    }

    steps.forEach((s, i) => {
      const st = cfg.stages[s.stage]!;
      const L = st.resolution ** 2;
      const input = tokensAt(i);
      const out = outAt(i);
      const caches = held + 2 * this.cache(input) + this.cache(out) + this.gradCache(out);
      let forward: number[];
      if (s.kind === 'block') {
        const b = this.block(sizes(s.stage, s.index), scales(sizes(s.stage, s.index)));
        this.peak.at(`${s.name} step`, caches + b.state, b.step);
        this.tailPass(`${s.name} Fisher pass`, caches + b.state, b, tail(i + 1), out, input);
        forward = b.float;
      } else {
        // Patch merging: the 2x2 gather and LayerNorm (kept), the reduction's quantized input and its noise.
        const merged = L * 4 * st.inDim;
        const state = this.adaround(st.dim * merged / L) + pooledBytes(st.dim, 1, 1, 4 * st.inDim, 4 * st.inDim);
        const saved = [B * merged, B * merged, B * merged, B * merged];
        const step = [...Array(4).fill(B * input), ...saved, B * out, B * out, B * out, B * merged, ...this.lossTensors(out)];
        this.peak.at(`${s.name} step`, caches + state, step);
        forward = [B * input, B * merged, B * merged, B * out];
        this.tailPass(`${s.name} Fisher pass`, caches + state, { step, saved, float: forward }, tail(i + 1), out, input);
      }
      // The next unit's inputs from the fake-quant model, while this unit's caches are still held
      // (pooled once released); the next unit's float outputs take new buffers where their size differs.
      const next = tokensAt(i + 1);
      const nextOut = outAt(i + 1);
      const fresh = BufferPool.bucket(4 * nextOut) === BufferPool.bucket(4 * input) ? 0 : this.cache(nextOut);
      this.peak.at(`${s.name} next inputs`, held + 2 * this.cache(input) + this.cache(out) + this.cache(next) + fresh, [B * input, B * out, ...forward]);
    });

    // The head: average pool then fc on the normed tokens.
    {
      const x = tokensAt(steps.length);
      const caches = held + 2 * this.cache(x) + this.cache(C);
      this.peak.at('head step', caches + this.adaround(C * F) + pooledBytes(C, 1, 1), [B * x, B * x, B * x, B * x, B * F, B * F, B * F, B * C, B * C, B * C, B * C]);
    }
  }
}
