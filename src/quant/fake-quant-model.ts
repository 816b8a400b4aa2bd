/**
 * Fake-quant evaluation of a quantized model (ViT, DeiT or Swin): the float forward with
 * dequantized weights and every activation quantizer applied at its quantization point (the
 * forward's hooks). This is how the method's own code evaluates, and the reference the integer
 * pipeline is compared with.
 */
import type { Classifier } from '../model/classifier.js';
import { type ModelCheckpoint, type VitCheckpoint, isSwinCheckpoint } from '../model/checkpoint.js';
import { SwinModel } from '../model/swin.js';
import { VitModel, type ForwardHooks } from '../model/vit.js';
import { fakeQuantInto, type QuantView } from '../ops/fake-quant.js';
import type { GpuContext, Tensor } from '../runtime/context.js';
import { type QuantizedModel, type QuantizedVit, type WeightQuant, modelQuantizers } from './quantized-model.js';
import { attentionPerHeadRow, perTensor, perToken, qkvPerHeadChannel, qkvPerHeadToken } from './views.js';

/** (code - zeroPoint) * scale per row: the weight the quantized model computes with. */
export function dequantizeWeight(w: WeightQuant): Float32Array {
  const out = new Float32Array(w.rows * w.cols);
  for (let r = 0; r < w.rows; r++) {
    const s = w.scale[r];
    const z = w.zeroPoint[r];
    for (let c = 0; c < w.cols; c++) out[r * w.cols + c] = (w.codes[r * w.cols + c] - z) * s;
  }
  return out;
}

/** The float checkpoint a quantized model computes with in fake-quant mode. */
export function dequantizedCheckpoint(q: QuantizedVit): VitCheckpoint;
export function dequantizedCheckpoint(q: QuantizedModel): ModelCheckpoint;
export function dequantizedCheckpoint(q: QuantizedModel): ModelCheckpoint {
  const weights = new Map(q.floats);
  for (const [name, w] of modelQuantizers(q).weights) weights.set(name, dequantizeWeight(w));
  return { config: q.config, weights, source: 'quantized model', configText: q.configText } as ModelCheckpoint;
}

interface UploadedQuantizer {
  bits: number;
  scale: Tensor;
  zeroPoint: Tensor;
}

/** A block's point: its prefix (blocks.{i} or layers.{i}.blocks.{j}) and the point inside it. */
const BLOCK_POINT = /^(.*blocks\.\d+)\.(attn\.qkv\.input|attn\.qkv\.output|attn\.map|attn\.proj\.input|mlp\.fc1\.input|mlp\.fc2\.input)$/;

export class FakeQuantModel<M extends VitModel | SwinModel = VitModel | SwinModel> implements Classifier {
  private readonly quantizers = new Map<string, UploadedQuantizer>();

  private constructor(readonly ctx: GpuContext, readonly model: M, readonly quantized: QuantizedModel) {
    for (const [name, a] of modelQuantizers(quantized).activations) {
      this.quantizers.set(name, {
        bits: a.bits,
        scale: ctx.upload(a.scale, [a.scale.length], `${name}.scale`),
        zeroPoint: ctx.upload(a.zeroPoint, [a.zeroPoint.length], `${name}.zero_point`),
      });
    }
  }

  static upload(ctx: GpuContext, q: QuantizedVit): FakeQuantModel<VitModel>;
  static upload(ctx: GpuContext, q: QuantizedModel): FakeQuantModel;
  static upload(ctx: GpuContext, q: QuantizedModel): FakeQuantModel {
    const ckpt = dequantizedCheckpoint(q);
    return new FakeQuantModel(ctx, isSwinCheckpoint(ckpt) ? SwinModel.upload(ctx, ckpt) : VitModel.upload(ctx, ckpt), q);
  }

  get inputShape(): readonly [number, number, number] {
    return this.model.inputShape;
  }

  get numClasses(): number {
    return this.model.numClasses;
  }

  private quantizer(name: string): UploadedQuantizer {
    const q = this.quantizers.get(name);
    if (!q) throw new Error(`no activation quantizer ${name}`);
    return q;
  }

  /** Heads of a block: a Swin's depend on its stage (layers.{i}). */
  private heads(block: string): number {
    const cfg = this.quantized.config;
    if (cfg.family !== 'swin') return cfg.numHeads;
    return cfg.stages[Number(/^layers\.(\d+)\./.exec(block)![1])]!.numHeads;
  }

  /** A new tensor: the quantized copy of t through the given views (which must cover all of t). */
  private fakeQuant(t: Tensor, parts: [string, QuantView][]): Tensor {
    const y = this.ctx.empty(t.shape, `${parts[0][0]}:fq`);
    for (const [name, view] of parts) {
      const q = this.quantizer(name);
      fakeQuantInto(this.ctx, t, q.scale, q.zeroPoint, q.bits, view, y);
    }
    return y;
  }

  readonly hooks: ForwardHooks = {
    activation: (point: string, t: Tensor): Tensor => {
      const m = BLOCK_POINT.exec(point);
      // The head's input and a Swin's reduction input: one scale for the tensor.
      if (!m) return this.fakeQuant(t, [[point, perTensor(t.size)]]);
      const [, block, rest] = m;
      const heads = this.heads(block);
      const [batch, tokens] = t.shape;
      const hd = t.shape[2]! / 3 / heads;
      switch (rest) {
        case 'attn.qkv.output':
          return this.fakeQuant(t, [
            [`${block}.attn.q`, qkvPerHeadToken(batch, tokens, heads, hd, 0)],
            [`${block}.attn.k`, qkvPerHeadToken(batch, tokens, heads, hd, 1)],
            [`${block}.attn.v`, qkvPerHeadChannel(batch, tokens, heads, hd)],
          ]);
        case 'attn.map':
          return this.fakeQuant(t, [[point, attentionPerHeadRow(batch, heads, t.shape[2])]]);
        default:
          return this.fakeQuant(t, [[point, perToken(batch, tokens, t.shape[2])]]);
      }
    },
  };

  forward(images: Tensor): Tensor {
    return this.model.forward(images, this.hooks);
  }

  release(): void {
    this.model.release();
    for (const q of this.quantizers.values()) {
      q.scale.release();
      q.zeroPoint.release();
    }
  }
}
