/**
 * The integer pipeline: a QuantizedVit run with its weights as packed b-bit codes and every
 * quantized activation as 8-bit-lane integer codes, so each matrix product accumulates in integers:
 *
 *   images ─im2col─▶ ─packed-weight-linear─▶ ─embed-tokens─▶ x        (the image stays float)
 *   x ─layer-norm─▶ ─quantize-codes─▶ ─int-linear(qkv)─▶ qkv (f32)
 *     qkv ─quantize-codes─▶ q, k [B,H,T,hd/4]  v transposed [B,H,hd,T/4]
 *     ─int-matmul(q·kᵀ)─▶ ─softmax─▶ ─quantize-codes─▶ map ─int-matmul(map·v)─▶ heads merged
 *     ─quantize-codes─▶ ─int-linear(proj)─▶ ─add─▶ x1 ─layer-norm─▶ ─quantize-codes─▶ ─int-linear(fc1)─▶
 *     ─quantize-codes with GELU fused─▶ ─int-linear(fc2)─▶ ─add─▶ next block
 *   class token ─layer-norm─▶ ─quantize-codes─▶ ─int-linear(head)─▶ logits
 *
 * Each product's integer accumulator is rescaled once by the two quantizers' scales (and the
 * bias added) into f32: LayerNorm, softmax, GELU and the residuals stay float, as the method keeps
 * them, and the next quantizer requantizes. Codes, scales and zero-points are exactly those of the
 * fake-quant evaluation (src/quant/fake-quant-model.ts), so both compute the same function and
 * differ only in float rounding. Intermediates come from the context's buffer pool: the first
 * forward at a batch size creates them and later forwards at that size create none.
 */
import type { Classifier } from '../model/classifier.js';
import type { VitConfig } from '../model/config.js';
import { add } from '../ops/add.js';
import { clsPool } from '../ops/cls-pool.js';
import { embedTokens } from '../ops/embed-tokens.js';
import { im2colRows } from '../ops/im2col.js';
import type { UploadedPackedWeight } from '../ops/int-linear.js';
import { layerNorm } from '../ops/layer-norm.js';
import { packedWeightLinear } from '../ops/packed-weight-linear.js';
import type { QuantizedVit } from '../quant/quantized-model.js';
import type { GpuContext, Tensor } from '../runtime/context.js';
import { type IntBlock, type IntLinearLayer, IntUploader, intAttention, intLinearLayer, intMlpResidual } from './int-layers.js';

export class IntVit implements Classifier {
  private readonly owned: { release(): void }[] = [];

  private constructor(
    readonly ctx: GpuContext,
    readonly config: VitConfig,
    private readonly patch: { weight: UploadedPackedWeight; bias: Tensor },
    private readonly clsToken: Tensor,
    private readonly posEmbed: Tensor,
    private readonly blocks: IntBlock[],
    private readonly norm: [Tensor, Tensor],
    private readonly head: IntLinearLayer,
  ) {}

  /** Uploads the packed codes and the float parameters of a quantized ViT / DeiT. */
  static upload(ctx: GpuContext, q: QuantizedVit): IntVit {
    const cfg = q.config;
    const up = new IntUploader(ctx, q.floats);
    const model = new IntVit(
      ctx,
      cfg,
      { weight: up.packed('patch_embed.proj.weight', q.patchEmbed.weight), bias: up.float('patch_embed.proj.bias') },
      up.float('cls_token'),
      up.float('pos_embed'),
      q.blocks.map((b, i) => up.block(`blocks.${i}`, b, cfg.numHeads)),
      [up.float('norm.weight'), up.float('norm.bias')],
      up.layer('head', q.head),
    );
    model.owned.push(...up.owned);
    return model;
  }

  get inputShape(): readonly [number, number, number] {
    return [this.config.inChans, this.config.imgSize, this.config.imgSize];
  }

  get numClasses(): number {
    return this.config.numClasses;
  }

  private block(i: number, x: Tensor): Tensor {
    const ctx = this.ctx;
    const b = this.blocks[i];
    const p = `blocks.${i}`;
    const qkv = intLinearLayer(ctx, layerNorm(ctx, x, b.norm1[0], b.norm1[1], this.config.layerNormEps, `${p}.norm1`), b.qkv, `${p}.attn.qkv`);
    const proj = intLinearLayer(ctx, intAttention(ctx, qkv, b, `${p}.attn`), b.proj, `${p}.attn.proj`);
    const x1 = add(ctx, x, proj, `${p}.residual1`);
    proj.release();
    const x2 = intMlpResidual(ctx, x1, b, this.config.layerNormEps, p);
    x1.release();
    return x2;
  }

  /** Logits [B, classes] for preprocessed images [B, C, H, W]. */
  forward(images: Tensor): Tensor {
    const ctx = this.ctx;
    const rows = im2colRows(ctx, images, this.config.patchSize, 'patch_embed.rows');
    const patches = packedWeightLinear(ctx, rows, this.patch.weight, this.patch.bias, 'patch_embed');
    rows.release();
    let x = embedTokens(ctx, patches, this.clsToken, this.posEmbed, 'tokens');
    patches.release();
    for (let i = 0; i < this.blocks.length; i++) {
      const next = this.block(i, x);
      x.release();
      x = next;
    }
    const pooled = clsPool(ctx, x, 'cls_pool');
    x.release();
    const normed = layerNorm(ctx, pooled, this.norm[0], this.norm[1], this.config.layerNormEps, 'norm');
    pooled.release();
    return intLinearLayer(ctx, normed, this.head, 'head', { perTensor: true });
  }

  release(): void {
    for (const t of this.owned.splice(0)) t.release();
  }
}
