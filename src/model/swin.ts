/**
 * The float Swin Transformer forward on the GPU, op by op as timm's SwinTransformer computes it:
 * patch embedding + LayerNorm -> stages (patch merging, then blocks of window attention with the
 * relative position bias, shifted on odd blocks) -> LayerNorm of every token -> average pool ->
 * head. Tokens stay in grid order [B, R², C] between blocks; window attention gathers them into
 * windows [B·nW, N, C] and back with `token-gather` maps computed once at upload.
 *
 * Quantization points (ForwardHooks), named like the quantizers of the quantized-model file: in
 * block `layers.{i}.blocks.{j}`, `attn.qkv.input`, `attn.qkv.output`, `attn.map` and
 * `attn.proj.input` on windows [B·nW, N, ·] (their token scales are per window position, shared
 * by all windows), `mlp.fc1.input` and `mlp.fc2.input` on the grid [B, R², ·];
 * `layers.{i}.downsample.reduction.input` [B, R², 4C]; `head.input`, the pooled features [B, C].
 */
import { add } from '../ops/add.js';
import { attentionContext, attentionScores } from '../ops/attention.js';
import { attentionBias } from '../ops/attention-bias.js';
import { layerNorm } from '../ops/layer-norm.js';
import { linear } from '../ops/matmul.js';
import { meanPool } from '../ops/mean-pool.js';
import { patchEmbed } from '../ops/patch-embed.js';
import { softmax } from '../ops/softmax.js';
import { tokenGather } from '../ops/token-gather.js';
import type { GpuContext, Tensor } from '../runtime/context.js';
import type { BlockShape } from './block-tail.js';
import type { SwinCheckpoint } from './checkpoint.js';
import type { Classifier } from './classifier.js';
import type { SwinConfig, SwinStage, SwinWindowing } from './swin-config.js';
import { inverseTokenMap, patchMergeMap, swinAttentionBias, windowMergeMap, windowPartitionMap } from './swin-windows.js';
import { type BlockWeights, type ForwardHooks, type LinearWeights, type NormWeights, applyHook, blockTensors, mlpResidual, weightUploader } from './vit.js';

/** The token maps of one windowing (a stage's even or odd blocks). */
interface WindowMaps {
  windowing: SwinWindowing;
  partition: Tensor;
  merge: Tensor;
}

/** A stage's token geometry on the GPU (the float and the integer pipelines share it). */
export interface StageGeometry {
  config: SwinStage;
  maps: [WindowMaps, WindowMaps];
  /** Patch merging's 2x2 gather (every stage but the first), and its inverse for the backward. */
  mergeMap: Tensor | null;
  unmergeMap: Tensor | null;
  /** Each block's relative position bias, plus the shifted windows' mask: [1 or nW, heads, N, N]. */
  attnBias: Tensor[];
}

/** Every stage's geometry; `biasTable` gives a block's relative_position_bias_table by its prefix. */
export function uploadSwinGeometry(ctx: GpuContext, cfg: SwinConfig, biasTable: (block: string) => Float32Array): StageGeometry[] {
  return cfg.stages.map((s, i) => ({
    config: s,
    maps: s.windowing.map((g) => ({
      windowing: g,
      partition: ctx.upload(windowPartitionMap(s.resolution, g), [g.numWindows * g.window ** 2], `layers.${i}.window_partition`),
      merge: ctx.upload(windowMergeMap(s.resolution, g), [s.resolution ** 2], `layers.${i}.window_merge`),
    })) as [WindowMaps, WindowMaps],
    mergeMap: s.downsample ? ctx.upload(patchMergeMap(2 * s.resolution), [4 * s.resolution ** 2], `layers.${i}.downsample.map`) : null,
    unmergeMap: s.downsample ? ctx.upload(inverseTokenMap(patchMergeMap(2 * s.resolution), 4 * s.resolution ** 2), [4 * s.resolution ** 2], `layers.${i}.downsample.unmap`) : null,
    attnBias: Array.from({ length: s.depth }, (_, j) => {
      const p = `layers.${i}.blocks.${j}`;
      const g = s.windowing[j % 2]!;
      const n = g.window ** 2;
      const bias = swinAttentionBias(biasTable(p), s.numHeads, g);
      return ctx.upload(bias, [bias.length / (s.numHeads * n * n), s.numHeads, n, n], `${p}.attn.bias`);
    }),
  }));
}

export function releaseSwinGeometry(stages: StageGeometry[]): void {
  for (const s of stages) {
    for (const m of s.maps) {
      m.partition.release();
      m.merge.release();
    }
    s.mergeMap?.release();
    s.unmergeMap?.release();
    for (const b of s.attnBias) b.release();
  }
}

export interface StageWeights {
  geometry: StageGeometry;
  /** Patch merging; the reduction has a bias only after RepQ-ViT folding (a quantized model's). */
  downsample: { norm: NormWeights; reduction: { weight: Tensor; bias: Tensor | null } } | null;
  blocks: BlockWeights[];
}

export class SwinModel implements Classifier {
  private constructor(
    readonly ctx: GpuContext,
    readonly config: SwinConfig,
    readonly patchEmbed: LinearWeights,
    readonly patchNorm: NormWeights,
    readonly stages: StageWeights[],
    readonly norm: NormWeights,
    readonly head: LinearWeights,
  ) {}

  get inputShape(): readonly [number, number, number] {
    return [this.config.inChans, this.config.imgSize, this.config.imgSize];
  }

  get numClasses(): number {
    return this.config.numClasses;
  }

  /** Uploads a checkpoint's weights, with each block's attention bias and the token maps, to the GPU. */
  static upload(ctx: GpuContext, ckpt: SwinCheckpoint): SwinModel {
    const cfg = ckpt.config;
    const { data, take, linear, norm, block } = weightUploader(ctx, ckpt.weights);
    const e = cfg.embedDim;
    const geometry = uploadSwinGeometry(ctx, cfg, (p) => data(`${p}.attn.relative_position_bias_table`));
    const stages = cfg.stages.map((s, i): StageWeights => {
      const blocks = Array.from({ length: s.depth }, (_, j) => block(`layers.${i}.blocks.${j}`, s.dim, s.mlpHidden));
      const downsample = s.downsample
        ? {
            norm: norm(`layers.${i}.downsample.norm`, 4 * s.inDim),
            reduction: {
              weight: take(`layers.${i}.downsample.reduction.weight`, [s.dim, 4 * s.inDim]),
              bias: ckpt.weights.has(`layers.${i}.downsample.reduction.bias`) ? take(`layers.${i}.downsample.reduction.bias`, [s.dim]) : null,
            },
          }
        : null;
      return { geometry: geometry[i]!, downsample, blocks };
    });
    return new SwinModel(
      ctx,
      cfg,
      { weight: take('patch_embed.proj.weight', [e, cfg.inChans, cfg.patchSize, cfg.patchSize]), bias: take('patch_embed.proj.bias', [e]) },
      norm('patch_embed.norm', e),
      stages,
      norm('norm', cfg.numFeatures),
      linear('head.fc', cfg.numClasses, cfg.numFeatures),
    );
  }

  /** Block j of stage i's heads, LayerNorm epsilon and windows (for the tails and reconstruction units). */
  blockShape(i: number, j: number): BlockShape {
    const { geometry } = this.stages[i]!;
    const maps = geometry.maps[j % 2]!;
    const g = maps.windowing;
    const windows = { partition: maps.partition, merge: maps.merge, bias: geometry.attnBias[j]!, count: g.numWindows, size: g.window ** 2 };
    return { heads: geometry.config.numHeads, eps: this.config.layerNormEps, windows };
  }

  /** Tokens [B, R², E] in grid order from images [B, C, H, W]. */
  embed(images: Tensor): Tensor {
    const patches = patchEmbed(this.ctx, images, this.patchEmbed.weight, this.patchEmbed.bias, 'patch_embed');
    const x = layerNorm(this.ctx, patches, this.patchNorm.gamma, this.patchNorm.beta, this.config.layerNormEps, 'patch_embed.norm');
    patches.release();
    return x;
  }

  /** Stage i's patch merging [B, (2R)², C/2] -> [B, R², C]; consumes nothing. */
  downsample(i: number, x: Tensor, hooks?: ForwardHooks): Tensor {
    const { geometry, downsample: d } = this.stages[i]!;
    const s = geometry.config;
    if (!d || !geometry.mergeMap) throw new Error(`stage ${i} has no patch merging`);
    const batch = x.shape[0]!;
    const p = `layers.${i}.downsample`;
    const merged = tokenGather(this.ctx, x, geometry.mergeMap, batch, s.inDim, [batch, s.resolution ** 2, 4 * s.inDim], `${p}.merge`);
    const n = applyHook(hooks, `${p}.reduction.input`, layerNorm(this.ctx, merged, d.norm.gamma, d.norm.beta, this.config.layerNormEps, `${p}.norm`));
    merged.release();
    const out = linear(this.ctx, n, d.reduction.weight, d.reduction.bias, `${p}.reduction`);
    n.release();
    return out;
  }

  /** Block j of stage i on tokens [B, R², C]; consumes nothing, returns a new tensor. */
  block(i: number, j: number, x: Tensor, hooks?: ForwardHooks): Tensor {
    const ctx = this.ctx;
    const stage = this.stages[i]!;
    const s = stage.geometry.config;
    const w = stage.blocks[j]!;
    const maps = stage.geometry.maps[j % 2]!;
    const n = maps.windowing.window ** 2;
    const batch = x.shape[0]!;
    const eps = this.config.layerNormEps;
    const p = `layers.${i}.blocks.${j}`;
    const h = layerNorm(ctx, x, w.norm1.gamma, w.norm1.beta, eps, `${p}.norm1`);
    const windows = applyHook(hooks, `${p}.attn.qkv.input`, tokenGather(ctx, h, maps.partition, batch, s.dim, [batch * maps.windowing.numWindows, n, s.dim], `${p}.windows`));
    h.release();
    const qkv = applyHook(hooks, `${p}.attn.qkv.output`, linear(ctx, windows, w.qkv.weight, w.qkv.bias, `${p}.attn.qkv`));
    windows.release();
    const scores = attentionScores(ctx, qkv, s.numHeads, `${p}.attn.scores`);
    attentionBias(ctx, scores, stage.geometry.attnBias[j]!);
    const attn = applyHook(hooks, `${p}.attn.map`, softmax(ctx, scores, `${p}.attn.softmax`));
    scores.release();
    const heads = applyHook(hooks, `${p}.attn.proj.input`, attentionContext(ctx, attn, qkv, `${p}.attn.context`));
    attn.release();
    qkv.release();
    const proj = linear(ctx, heads, w.proj.weight, w.proj.bias, `${p}.attn.proj`);
    heads.release();
    const back = tokenGather(ctx, proj, maps.merge, batch, s.dim, [batch, s.resolution ** 2, s.dim], `${p}.unwindow`);
    proj.release();
    const x1 = add(ctx, x, back, `${p}.residual1`);
    back.release();
    const out = mlpResidual(ctx, x1, w, eps, p, hooks);
    x1.release();
    return out;
  }

  /** Logits [B, classes]: LayerNorm of every token, their average, then the head. */
  headForward(x: Tensor, hooks?: ForwardHooks): Tensor {
    const n = layerNorm(this.ctx, x, this.norm.gamma, this.norm.beta, this.config.layerNormEps, 'norm');
    const pooled = applyHook(hooks, 'head.input', meanPool(this.ctx, n, 'head.pool'));
    n.release();
    const logits = linear(this.ctx, pooled, this.head.weight, this.head.bias, 'head.fc');
    pooled.release();
    return logits;
  }

  /** Logits [B, classes] for preprocessed images [B, C, H, W]. */
  forward(images: Tensor, hooks?: ForwardHooks): Tensor {
    let x = this.embed(images);
    const step = (next: Tensor) => {
      x.release();
      x = next;
    };
    this.stages.forEach((stage, i) => {
      if (stage.downsample) step(this.downsample(i, x, hooks));
      for (let j = 0; j < stage.blocks.length; j++) step(this.block(i, j, x, hooks));
    });
    const logits = this.headForward(x, hooks);
    x.release();
    return logits;
  }

  /** Frees the weights, biases and maps. */
  release(): void {
    const all: Tensor[] = [this.patchEmbed.weight, this.patchEmbed.bias, this.patchNorm.gamma, this.patchNorm.beta, this.norm.gamma, this.norm.beta, this.head.weight, this.head.bias];
    for (const s of this.stages) {
      if (s.downsample) all.push(s.downsample.norm.gamma, s.downsample.norm.beta, s.downsample.reduction.weight, ...(s.downsample.reduction.bias ? [s.downsample.reduction.bias] : []));
      for (const b of s.blocks) all.push(...blockTensors(b));
    }
    for (const t of all) t.release();
    releaseSwinGeometry(this.stages.map((s) => s.geometry));
  }
}

/** Parameter count of a Swin with this config (what `fimaq info` prints). */
export function swinParameterCount(cfg: SwinConfig): number {
  let n = cfg.embedDim * (cfg.inChans * cfg.patchSize ** 2 + 1) + 2 * cfg.embedDim;
  for (const s of cfg.stages) {
    if (s.downsample) n += 4 * s.inDim * 2 + 4 * s.inDim * s.dim;
    const d = s.dim;
    const table = (2 * s.windowing[0].window - 1) ** 2 * s.numHeads;
    n += s.depth * (4 * d + table + 3 * d * d + 3 * d + d * d + d + 2 * s.mlpHidden * d + s.mlpHidden + d);
  }
  return n + 2 * cfg.numFeatures + cfg.numClasses * (cfg.numFeatures + 1);
}

/** Multiply-accumulates per image, times two: the FLOPs of one forward (padding tokens counted, as computed). */
export function swinForwardFlops(cfg: SwinConfig): number {
  let macs = cfg.gridSize ** 2 * cfg.embedDim * cfg.inChans * cfg.patchSize ** 2;
  for (const s of cfg.stages) {
    const tokens = s.resolution ** 2;
    if (s.downsample) macs += tokens * 4 * s.inDim * s.dim;
    for (let j = 0; j < s.depth; j++) {
      const g = s.windowing[j % 2]!;
      const windowed = g.numWindows * g.window ** 2;
      macs += windowed * 4 * s.dim * s.dim + 2 * windowed * g.window ** 2 * s.dim + 2 * tokens * s.dim * s.mlpHidden;
    }
  }
  return 2 * (macs + cfg.numFeatures * cfg.numClasses);
}
