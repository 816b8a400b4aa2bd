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
import { add } from '../ops/add.js';
import { clsPool } from '../ops/cls-pool.js';
import { embedTokens } from '../ops/embed-tokens.js';
import { im2colRows } from '../ops/im2col.js';
import { intLinear, uploadPackedWeight, type UploadedPackedWeight } from '../ops/int-linear.js';
import { attnValuesOptions, intMatmul, qkScoresOptions, type QuantizedCodes } from '../ops/int-matmul.js';
import { layerNorm } from '../ops/layer-norm.js';
import { packedWeightLinear } from '../ops/packed-weight-linear.js';
import { quantizeCodes } from '../ops/quantize-codes.js';
import { softmax } from '../ops/softmax.js';
import type { VitConfig } from '../model/config.js';
import { type ActivationQuant, type QuantizedModel, type QuantizedVit, requireQuantizedVit } from '../quant/quantized-model.js';
import { packedAttentionPerHeadRow, packedPerTensor, packedPerToken, packedQkvPerHeadChannelTransposed, packedQkvPerHeadToken } from '../quant/views.js';
import type { GpuContext, Tensor } from '../runtime/context.js';

/** An activation quantizer on the GPU. */
interface ActQuant {
  bits: number;
  scale: Tensor;
  zeroPoint: Tensor;
}

interface IntLinearLayer {
  weight: UploadedPackedWeight;
  bias: Tensor;
  input: ActQuant;
}

interface IntBlock {
  norm1: [Tensor, Tensor];
  qkv: IntLinearLayer;
  q: ActQuant;
  k: ActQuant;
  v: ActQuant;
  map: ActQuant;
  proj: IntLinearLayer;
  norm2: [Tensor, Tensor];
  fc1: IntLinearLayer;
  fc2: IntLinearLayer;
}

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

  /** Uploads the packed codes and the float parameters of a quantized ViT / DeiT (a Swin has no integer pipeline yet). */
  static upload(ctx: GpuContext, quantized: QuantizedModel): IntVit {
    const q = requireQuantizedVit(quantized, 'IntVit', 'the integer pipeline');
    const owned: { release(): void }[] = [];
    const cfg = q.config;
    const float = (name: string): Tensor => {
      const data = q.floats.get(name);
      if (!data) throw new Error(`quantized model has no float tensor ${name}`);
      const t = ctx.upload(data, [data.length], name);
      owned.push(t);
      return t;
    };
    const act = (name: string, a: ActivationQuant): ActQuant => {
      const scale = ctx.upload(a.scale, [a.scale.length], `${name}.scale`);
      const zeroPoint = ctx.upload(a.zeroPoint, [a.zeroPoint.length], `${name}.zero_point`);
      owned.push(scale, zeroPoint);
      return { bits: a.bits, scale, zeroPoint };
    };
    const packed = (name: string, w: QuantizedVit['head']['weight']): UploadedPackedWeight => {
      const u = uploadPackedWeight(ctx, w, `${name}.codes`);
      owned.push(u);
      return u;
    };
    const layer = (name: string, l: { weight: QuantizedVit['head']['weight']; input: ActivationQuant }): IntLinearLayer => ({
      weight: packed(`${name}.weight`, l.weight),
      bias: float(`${name}.bias`),
      input: act(`${name}.input`, l.input),
    });
    const blocks = q.blocks.map((b, i): IntBlock => {
      const p = `blocks.${i}`;
      return {
        norm1: [float(`${p}.norm1.weight`), float(`${p}.norm1.bias`)],
        qkv: layer(`${p}.attn.qkv`, b.qkv),
        q: act(`${p}.attn.q`, b.q),
        k: act(`${p}.attn.k`, b.k),
        v: act(`${p}.attn.v`, b.v),
        map: act(`${p}.attn.map`, b.attn),
        proj: layer(`${p}.attn.proj`, b.proj),
        norm2: [float(`${p}.norm2.weight`), float(`${p}.norm2.bias`)],
        fc1: layer(`${p}.mlp.fc1`, b.fc1),
        fc2: layer(`${p}.mlp.fc2`, b.fc2),
      };
    });
    const model = new IntVit(
      ctx,
      cfg,
      { weight: packed('patch_embed.proj.weight', q.patchEmbed.weight), bias: float('patch_embed.proj.bias') },
      float('cls_token'),
      float('pos_embed'),
      blocks,
      [float('norm.weight'), float('norm.bias')],
      layer('head', q.head),
    );
    model.owned.push(...owned);
    return model;
  }

  get inputShape(): readonly [number, number, number] {
    return [this.config.inChans, this.config.imgSize, this.config.imgSize];
  }

  get numClasses(): number {
    return this.config.numClasses;
  }

  /** Codes of x (of GELU(x) with `gelu`) through a quantizer, then the integer linear layer; x is released. */
  private linear(x: Tensor, l: IntLinearLayer, label: string, { perTensor = false, gelu = false } = {}): Tensor {
    const dim = x.shape[x.shape.length - 1];
    const rows = x.size / dim;
    const tokens = perTensor ? 1 : x.shape[1];
    const layout = perTensor ? packedPerTensor(rows, dim) : packedPerToken(rows / tokens, tokens, dim);
    const outShape = [...x.shape.slice(0, -1), l.weight.rows];
    const codes = quantizeCodes(this.ctx, x, l.input.scale, l.input.zeroPoint, l.input.bits, layout, `${label}.input_codes`, { gelu });
    x.release();
    const y = intLinear(this.ctx, {
      x: codes, rows, tokens, inputScale: l.input.scale, inputZeroPoint: l.input.zeroPoint, weight: l.weight, bias: l.bias,
      out: { tensor: this.ctx.empty(outShape, label) }, label,
    });
    codes.release();
    return y;
  }

  private codes(x: Tensor, a: ActQuant, layout: ReturnType<typeof packedPerToken>, label: string): QuantizedCodes {
    return { codes: quantizeCodes(this.ctx, x, a.scale, a.zeroPoint, a.bits, layout, label), scale: a.scale, zeroPoint: a.zeroPoint };
  }

  /** Multi-head attention on integer codes: [B, T, 3D] float qkv to the merged heads [B, T, D]; qkv is released. */
  private attention(qkv: Tensor, b: IntBlock, p: string): Tensor {
    const ctx = this.ctx;
    const [batch, tokens] = qkv.shape;
    const heads = this.config.numHeads;
    const headDim = this.config.embedDim / heads;
    const q = this.codes(qkv, b.q, packedQkvPerHeadToken(batch, tokens, heads, headDim, 0), `${p}.q_codes`);
    const k = this.codes(qkv, b.k, packedQkvPerHeadToken(batch, tokens, heads, headDim, 1), `${p}.k_codes`);
    const v = this.codes(qkv, b.v, packedQkvPerHeadChannelTransposed(batch, tokens, heads, headDim), `${p}.v_codes`);
    qkv.release();
    const scores = ctx.empty([batch, heads, tokens, tokens], `${p}.scores`);
    intMatmul(ctx, qkScoresOptions({ batch, heads, tokens, headDim, bits: Math.max(b.q.bits, b.k.bits) }, q, k, scores));
    q.codes.release();
    k.codes.release();
    const probs = softmax(ctx, scores, `${p}.softmax`);
    scores.release();
    const map = this.codes(probs, b.map, packedAttentionPerHeadRow(batch, heads, tokens), `${p}.map_codes`);
    probs.release();
    const out = ctx.empty([batch, tokens, this.config.embedDim], `${p}.context`);
    intMatmul(ctx, attnValuesOptions({ batch, heads, tokens, headDim, bits: Math.max(b.map.bits, b.v.bits) }, map, v, out));
    map.codes.release();
    v.codes.release();
    return out;
  }

  private block(i: number, x: Tensor): Tensor {
    const ctx = this.ctx;
    const b = this.blocks[i];
    const eps = this.config.layerNormEps;
    const p = `blocks.${i}`;
    const qkv = this.linear(layerNorm(ctx, x, b.norm1[0], b.norm1[1], eps, `${p}.norm1`), b.qkv, `${p}.attn.qkv`);
    const proj = this.linear(this.attention(qkv, b, `${p}.attn`), b.proj, `${p}.attn.proj`);
    const x1 = add(ctx, x, proj, `${p}.residual1`);
    proj.release();
    const f1 = this.linear(layerNorm(ctx, x1, b.norm2[0], b.norm2[1], eps, `${p}.norm2`), b.fc1, `${p}.mlp.fc1`);
    // GELU is fused into fc2's input quantizer: its float output never goes to memory.
    const f2 = this.linear(f1, b.fc2, `${p}.mlp.fc2`, { gelu: true });
    const x2 = add(ctx, x1, f2, `${p}.residual2`);
    x1.release();
    f2.release();
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
    return this.linear(normed, this.head, 'head', { perTensor: true });
  }

  release(): void {
    for (const t of this.owned.splice(0)) t.release();
  }
}
