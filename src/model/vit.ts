/**
 * The float ViT / DeiT forward pass on the GPU, op by op as timm computes it:
 * patch embedding -> class token + position embedding -> depth x pre-LN block -> final LN on the
 * class token -> head. Intermediates go back to the pool as soon as their consumer is recorded,
 * so a forward needs about four activation tensors of the largest size at once.
 */
import { add } from '../ops/add.js';
import { attention } from '../ops/attention.js';
import { clsPool } from '../ops/cls-pool.js';
import { embedTokens } from '../ops/embed-tokens.js';
import { gelu } from '../ops/gelu.js';
import { layerNorm } from '../ops/layer-norm.js';
import { linear } from '../ops/matmul.js';
import { patchEmbed } from '../ops/patch-embed.js';
import type { GpuContext, Tensor } from '../runtime/context.js';
import type { VitCheckpoint } from './checkpoint.js';
import type { VitConfig } from './config.js';
import type { Classifier } from './classifier.js';

export interface LinearWeights {
  weight: Tensor;
  bias: Tensor;
}

export interface NormWeights {
  gamma: Tensor;
  beta: Tensor;
}

export interface BlockWeights {
  norm1: NormWeights;
  qkv: LinearWeights;
  proj: LinearWeights;
  norm2: NormWeights;
  fc1: LinearWeights;
  fc2: LinearWeights;
}

/**
 * Quantization points of the forward, named like the quantizers in the quantized-model file:
 * `blocks.{i}.attn.qkv.input`, `blocks.{i}.attn.qkv.output` (where q, k and v are quantized),
 * `blocks.{i}.attn.map` (post-softmax), `blocks.{i}.attn.proj.input`, `blocks.{i}.mlp.fc1.input`,
 * `blocks.{i}.mlp.fc2.input`, `head.input`.
 */
export interface ForwardHooks {
  /**
   * Sees each quantization point's tensor and returns the tensor the forward continues with:
   * the same one (to observe, e.g. copy it for calibration) or a new one (e.g. fake-quantized),
   * in which case the forward releases the original.
   */
  activation(point: string, t: Tensor): Tensor;
}

/** The tensor the forward continues with at a quantization point; releases t when the hook replaced it. */
export function applyHook(hooks: ForwardHooks | undefined, point: string, t: Tensor): Tensor {
  if (!hooks) return t;
  const r = hooks.activation(point, t);
  if (r !== t) t.release();
  return r;
}

/** Uploads a checkpoint's float tensors by timm name, in the shapes the forward uses (ViT and Swin). */
export function weightUploader(ctx: GpuContext, weights: Map<string, Float32Array>) {
  const data = (name: string): Float32Array => {
    const d = weights.get(name);
    if (!d) throw new Error(`checkpoint has no tensor ${name}`);
    return d;
  };
  const take = (name: string, shape: number[]): Tensor => ctx.upload(data(name), shape, name);
  const linear = (prefix: string, outF: number, inF: number): LinearWeights => ({
    weight: take(`${prefix}.weight`, [outF, inF]),
    bias: take(`${prefix}.bias`, [outF]),
  });
  const norm = (prefix: string, width: number): NormWeights => ({ gamma: take(`${prefix}.weight`, [width]), beta: take(`${prefix}.bias`, [width]) });
  /** A pre-LN block of width `dim` under its prefix (blocks.{i}, layers.{i}.blocks.{j}). */
  const block = (p: string, dim: number, mlpHidden: number): BlockWeights => ({
    norm1: norm(`${p}.norm1`, dim),
    qkv: linear(`${p}.attn.qkv`, 3 * dim, dim),
    proj: linear(`${p}.attn.proj`, dim, dim),
    norm2: norm(`${p}.norm2`, dim),
    fc1: linear(`${p}.mlp.fc1`, mlpHidden, dim),
    fc2: linear(`${p}.mlp.fc2`, dim, mlpHidden),
  });
  return { data, take, linear, norm, block };
}

/** Every tensor of a block's weights, to release them. */
export function blockTensors(b: BlockWeights): Tensor[] {
  return [b.norm1.gamma, b.norm1.beta, b.qkv.weight, b.qkv.bias, b.proj.weight, b.proj.bias, b.norm2.gamma, b.norm2.beta, b.fc1.weight, b.fc1.bias, b.fc2.weight, b.fc2.bias];
}

/**
 * The second half of a pre-LN block, x + fc2(gelu(fc1(LayerNorm(x)))), shared by ViT and Swin
 * blocks; `prefix` names the block's quantization points. Consumes nothing.
 */
export function mlpResidual(ctx: GpuContext, x: Tensor, w: Pick<BlockWeights, 'norm2' | 'fc1' | 'fc2'>, eps: number, prefix: string, hooks?: ForwardHooks): Tensor {
  const h = applyHook(hooks, `${prefix}.mlp.fc1.input`, layerNorm(ctx, x, w.norm2.gamma, w.norm2.beta, eps, `${prefix}.norm2`));
  const f1 = linear(ctx, h, w.fc1.weight, w.fc1.bias, `${prefix}.mlp.fc1`);
  h.release();
  const g = applyHook(hooks, `${prefix}.mlp.fc2.input`, gelu(ctx, f1, `${prefix}.mlp.gelu`));
  f1.release();
  const f2 = linear(ctx, g, w.fc2.weight, w.fc2.bias, `${prefix}.mlp.fc2`);
  g.release();
  const out = add(ctx, x, f2, `${prefix}.residual2`);
  f2.release();
  return out;
}

export class VitModel implements Classifier {
  private constructor(
    readonly ctx: GpuContext,
    readonly config: VitConfig,
    readonly patchEmbed: LinearWeights,
    readonly clsToken: Tensor,
    readonly posEmbed: Tensor,
    readonly blocks: BlockWeights[],
    readonly norm: NormWeights,
    readonly head: LinearWeights,
  ) {}

  get inputShape(): readonly [number, number, number] {
    return [this.config.inChans, this.config.imgSize, this.config.imgSize];
  }

  get numClasses(): number {
    return this.config.numClasses;
  }

  /** Uploads a checkpoint's weights to the GPU. */
  static upload(ctx: GpuContext, ckpt: VitCheckpoint): VitModel {
    const cfg = ckpt.config;
    const { take, linear, norm, block } = weightUploader(ctx, ckpt.weights);
    const d = cfg.embedDim;
    return new VitModel(
      ctx,
      cfg,
      {
        weight: take('patch_embed.proj.weight', [d, cfg.inChans, cfg.patchSize, cfg.patchSize]),
        bias: take('patch_embed.proj.bias', [d]),
      },
      take('cls_token', [d]),
      take('pos_embed', [cfg.numTokens, d]),
      Array.from({ length: cfg.depth }, (_, i) => block(`blocks.${i}`, d, cfg.mlpHidden)),
      norm('norm', d),
      linear('head', cfg.numClasses, d),
    );
  }

  /** Tokens [B, N+1, D] from images [B, C, H, W]. */
  embed(images: Tensor): Tensor {
    const patches = patchEmbed(this.ctx, images, this.patchEmbed.weight, this.patchEmbed.bias, 'patch_embed');
    const x = embedTokens(this.ctx, patches, this.clsToken, this.posEmbed, 'tokens');
    patches.release();
    return x;
  }

  /** One pre-LN transformer block; consumes nothing, returns a new tensor. */
  block(i: number, x: Tensor, hooks?: ForwardHooks): Tensor {
    const ctx = this.ctx;
    const w = this.blocks[i];
    const eps = this.config.layerNormEps;
    const p = `blocks.${i}`;
    const h = applyHook(hooks, `${p}.attn.qkv.input`, layerNorm(ctx, x, w.norm1.gamma, w.norm1.beta, eps, `${p}.norm1`));
    const qkv = applyHook(hooks, `${p}.attn.qkv.output`, linear(ctx, h, w.qkv.weight, w.qkv.bias, `${p}.attn.qkv`));
    h.release();
    const mapHook = hooks ? (a: Tensor) => applyHook(hooks, `${p}.attn.map`, a) : undefined;
    const heads = applyHook(hooks, `${p}.attn.proj.input`, attention(ctx, qkv, this.config.numHeads, `${p}.attn`, mapHook));
    qkv.release();
    const proj = linear(ctx, heads, w.proj.weight, w.proj.bias, `${p}.attn.proj`);
    heads.release();
    const x1 = add(ctx, x, proj, `${p}.residual1`);
    proj.release();
    const x2 = mlpResidual(ctx, x1, w, eps, p, hooks);
    x1.release();
    return x2;
  }

  /** Logits [B, classes] from the final tokens: LayerNorm of the class token, then the head. */
  headForward(x: Tensor, hooks?: ForwardHooks): Tensor {
    const pooled = clsPool(this.ctx, x, 'cls_pool');
    const n = applyHook(hooks, 'head.input', layerNorm(this.ctx, pooled, this.norm.gamma, this.norm.beta, this.config.layerNormEps, 'norm'));
    pooled.release();
    const logits = linear(this.ctx, n, this.head.weight, this.head.bias, 'head');
    n.release();
    return logits;
  }

  /** Logits [B, classes] for preprocessed images [B, C, H, W]. */
  forward(images: Tensor, hooks?: ForwardHooks): Tensor {
    let x = this.embed(images);
    for (let i = 0; i < this.config.depth; i++) {
      const next = this.block(i, x, hooks);
      x.release();
      x = next;
    }
    const logits = this.headForward(x, hooks);
    x.release();
    return logits;
  }

  /** Frees the weights. */
  release(): void {
    const all: Tensor[] = [this.patchEmbed.weight, this.patchEmbed.bias, this.clsToken, this.posEmbed, this.norm.gamma, this.norm.beta, this.head.weight, this.head.bias];
    for (const b of this.blocks) all.push(...blockTensors(b));
    for (const t of all) t.release();
  }
}

/** Parameter count of a ViT with this config (what `fimaq info` prints). */
export function parameterCount(cfg: VitConfig): number {
  const d = cfg.embedDim;
  const perBlock = 4 * d + (3 * d * d + 3 * d) + (d * d + d) + (cfg.mlpHidden * d + cfg.mlpHidden) + (d * cfg.mlpHidden + d);
  return d + cfg.numTokens * d + d * cfg.inChans * cfg.patchSize ** 2 + d + cfg.depth * perBlock + 2 * d + cfg.numClasses * d + cfg.numClasses;
}

/** Multiply-accumulates per image, times two: the FLOPs of one forward. */
export function forwardFlops(cfg: VitConfig): number {
  const t = cfg.numTokens;
  const d = cfg.embedDim;
  const patchMacs = cfg.numPatches * d * cfg.inChans * cfg.patchSize ** 2;
  const blockMacs = t * d * 3 * d + 2 * t * t * d + t * d * d + 2 * t * d * cfg.mlpHidden;
  return 2 * (patchMacs + cfg.depth * blockMacs + d * cfg.numClasses);
}
