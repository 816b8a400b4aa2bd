/**
 * The integer pipeline's building blocks, shared by IntVit and IntSwin: uploading a quantized
 * model's parts (packed weight codes, activation quantizers, float parameters), a linear layer on
 * activation codes, multi-head attention on codes, and the MLP half of a block. Each product
 * accumulates in integers and is rescaled once by the two quantizers' scales (and the bias added)
 * into f32; LayerNorm, softmax, GELU and the residuals stay float, as the method keeps them.
 */
import { add } from '../ops/add.js';
import { attentionBias } from '../ops/attention-bias.js';
import { intLinear, uploadPackedWeight, type UploadedPackedWeight } from '../ops/int-linear.js';
import { attnValuesOptions, intMatmul, qkScoresOptions, type QuantizedCodes } from '../ops/int-matmul.js';
import { layerNorm } from '../ops/layer-norm.js';
import { quantizeCodes } from '../ops/quantize-codes.js';
import { softmax } from '../ops/softmax.js';
import type { ActivationQuant, BlockQuant, LinearQuant, WeightQuant } from '../quant/quantized-model.js';
import type { CodeLayout } from '../ops/quantize-codes.js';
import { packedAttentionPerHeadRow, packedPerTensor, packedPerToken, packedQkvPerHeadChannelTransposed, packedQkvPerHeadToken } from '../quant/views.js';
import type { GpuContext, Tensor } from '../runtime/context.js';

/** An activation quantizer on the GPU. */
export interface ActQuant {
  bits: number;
  scale: Tensor;
  zeroPoint: Tensor;
}

export interface IntLinearLayer {
  weight: UploadedPackedWeight;
  bias: Tensor;
  input: ActQuant;
}

export interface IntBlock {
  heads: number;
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

/** Uploads a quantized model's parts by name; every tensor it creates is in `owned`. */
export class IntUploader {
  readonly owned: { release(): void }[] = [];
  constructor(private readonly ctx: GpuContext, private readonly floats: Map<string, Float32Array>) {}

  float(name: string): Tensor {
    const data = this.floats.get(name);
    if (!data) throw new Error(`quantized model has no float tensor ${name}`);
    const t = this.ctx.upload(data, [data.length], name);
    this.owned.push(t);
    return t;
  }

  act(name: string, a: ActivationQuant): ActQuant {
    const scale = this.ctx.upload(a.scale, [a.scale.length], `${name}.scale`);
    const zeroPoint = this.ctx.upload(a.zeroPoint, [a.zeroPoint.length], `${name}.zero_point`);
    this.owned.push(scale, zeroPoint);
    return { bits: a.bits, scale, zeroPoint };
  }

  packed(name: string, w: WeightQuant): UploadedPackedWeight {
    const u = uploadPackedWeight(this.ctx, w, `${name}.codes`);
    this.owned.push(u);
    return u;
  }

  /** A linear's codes, bias and input quantizer; `input` names the quantizer (default `<name>.input`). */
  layer(name: string, l: LinearQuant, input = `${name}.input`): IntLinearLayer {
    return { weight: this.packed(`${name}.weight`, l.weight), bias: this.float(`${name}.bias`), input: this.act(input, l.input) };
  }

  /** A pre-LN block under its prefix (blocks.{i} or layers.{i}.blocks.{j}). */
  block(p: string, b: BlockQuant, heads: number): IntBlock {
    return {
      heads,
      norm1: [this.float(`${p}.norm1.weight`), this.float(`${p}.norm1.bias`)],
      qkv: this.layer(`${p}.attn.qkv`, b.qkv),
      q: this.act(`${p}.attn.q`, b.q),
      k: this.act(`${p}.attn.k`, b.k),
      v: this.act(`${p}.attn.v`, b.v),
      map: this.act(`${p}.attn.map`, b.attn),
      proj: this.layer(`${p}.attn.proj`, b.proj),
      norm2: [this.float(`${p}.norm2.weight`), this.float(`${p}.norm2.bias`)],
      fc1: this.layer(`${p}.mlp.fc1`, b.fc1),
      fc2: this.layer(`${p}.mlp.fc2`, b.fc2),
    };
  }
}

/**
 * Codes of x (of GELU(x) with `gelu`) through the layer's input quantizer, per token position
 * (x.shape[1]) or per tensor, then the integer linear layer; x is released.
 */
export function intLinearLayer(ctx: GpuContext, x: Tensor, l: IntLinearLayer, label: string, { perTensor = false, gelu = false } = {}): Tensor {
  const dim = x.shape[x.shape.length - 1];
  const rows = x.size / dim;
  const tokens = perTensor ? 1 : x.shape[1];
  const layout = perTensor ? packedPerTensor(rows, dim) : packedPerToken(rows / tokens, tokens, dim);
  const outShape = [...x.shape.slice(0, -1), l.weight.rows];
  const codes = quantizeCodes(ctx, x, l.input.scale, l.input.zeroPoint, l.input.bits, layout, `${label}.input_codes`, { gelu });
  x.release();
  const y = intLinear(ctx, {
    x: codes, rows, tokens, inputScale: l.input.scale, inputZeroPoint: l.input.zeroPoint, weight: l.weight, bias: l.bias,
    out: { tensor: ctx.empty(outShape, label) }, label,
  });
  codes.release();
  return y;
}

function codes(ctx: GpuContext, x: Tensor, a: ActQuant, layout: CodeLayout, label: string): QuantizedCodes {
  return { codes: quantizeCodes(ctx, x, a.scale, a.zeroPoint, a.bits, layout, label), scale: a.scale, zeroPoint: a.zeroPoint };
}

/**
 * Multi-head attention on integer codes: float qkv [S, T, 3D] of S sequences (images, or a Swin's
 * windows) to the merged heads [S, T, D]; qkv is released. `bias` (a Swin's relative position bias
 * and mask) is added to the rescaled scores before the softmax.
 */
export function intAttention(ctx: GpuContext, qkv: Tensor, b: IntBlock, p: string, bias?: Tensor): Tensor {
  const [batch, tokens, threeDim] = qkv.shape;
  const heads = b.heads;
  const dim = threeDim / 3;
  const headDim = dim / heads;
  const q = codes(ctx, qkv, b.q, packedQkvPerHeadToken(batch, tokens, heads, headDim, 0), `${p}.q_codes`);
  const k = codes(ctx, qkv, b.k, packedQkvPerHeadToken(batch, tokens, heads, headDim, 1), `${p}.k_codes`);
  const v = codes(ctx, qkv, b.v, packedQkvPerHeadChannelTransposed(batch, tokens, heads, headDim), `${p}.v_codes`);
  qkv.release();
  const scores = ctx.empty([batch, heads, tokens, tokens], `${p}.scores`);
  intMatmul(ctx, qkScoresOptions({ batch, heads, tokens, headDim, bits: Math.max(b.q.bits, b.k.bits) }, q, k, scores));
  q.codes.release();
  k.codes.release();
  if (bias) attentionBias(ctx, scores, bias);
  const probs = softmax(ctx, scores, `${p}.softmax`);
  scores.release();
  const map = codes(ctx, probs, b.map, packedAttentionPerHeadRow(batch, heads, tokens), `${p}.map_codes`);
  probs.release();
  const out = ctx.empty([batch, tokens, dim], `${p}.context`);
  intMatmul(ctx, attnValuesOptions({ batch, heads, tokens, headDim, bits: Math.max(b.map.bits, b.v.bits) }, map, v, out));
  map.codes.release();
  v.codes.release();
  return out;
}

/** x + fc2(GELU(fc1(LayerNorm(x)))) on codes; consumes nothing. GELU is fused into fc2's input quantizer. */
export function intMlpResidual(ctx: GpuContext, x: Tensor, b: IntBlock, eps: number, p: string): Tensor {
  const f1 = intLinearLayer(ctx, layerNorm(ctx, x, b.norm2[0], b.norm2[1], eps, `${p}.norm2`), b.fc1, `${p}.mlp.fc1`);
  const f2 = intLinearLayer(ctx, f1, b.fc2, `${p}.mlp.fc2`, { gelu: true });
  const out = add(ctx, x, f2, `${p}.residual2`);
  f2.release();
  return out;
}
