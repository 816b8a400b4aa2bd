/**
 * Fake-quant evaluation of a QuantizedVit: the float forward with dequantized weights and every
 * activation quantizer applied at its quantization point (VitModel hooks). This is how the
 * method's own code evaluates, and the reference the integer pipeline is compared with.
 */
import type { Classifier } from '../model/classifier.js';
import type { VitCheckpoint } from '../model/checkpoint.js';
import { VitModel, type ForwardHooks } from '../model/vit.js';
import { fakeQuantInto, type QuantView } from '../ops/fake-quant.js';
import type { GpuContext, Tensor } from '../runtime/context.js';
import type { ActivationQuant, QuantizedVit, WeightQuant } from './quantized-model.js';
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
export function dequantizedCheckpoint(q: QuantizedVit): VitCheckpoint {
  const weights = new Map(q.floats);
  weights.set('patch_embed.proj.weight', dequantizeWeight(q.patchEmbed.weight));
  q.blocks.forEach((b, i) => {
    weights.set(`blocks.${i}.attn.qkv.weight`, dequantizeWeight(b.qkv.weight));
    weights.set(`blocks.${i}.attn.proj.weight`, dequantizeWeight(b.proj.weight));
    weights.set(`blocks.${i}.mlp.fc1.weight`, dequantizeWeight(b.fc1.weight));
    weights.set(`blocks.${i}.mlp.fc2.weight`, dequantizeWeight(b.fc2.weight));
  });
  weights.set('head.weight', dequantizeWeight(q.head.weight));
  return { config: q.config, weights, source: 'quantized model', configText: q.configText };
}

interface UploadedQuantizer {
  bits: number;
  scale: Tensor;
  zeroPoint: Tensor;
}

export class FakeQuantVit implements Classifier {
  private readonly quantizers = new Map<string, UploadedQuantizer>();

  private constructor(readonly ctx: GpuContext, readonly model: VitModel, readonly quantized: QuantizedVit) {
    const up = (name: string, a: ActivationQuant) =>
      this.quantizers.set(name, {
        bits: a.bits,
        scale: ctx.upload(a.scale, [a.scale.length], `${name}.scale`),
        zeroPoint: ctx.upload(a.zeroPoint, [a.zeroPoint.length], `${name}.zero_point`),
      });
    quantized.blocks.forEach((b, i) => {
      const p = `blocks.${i}`;
      up(`${p}.attn.qkv.input`, b.qkv.input);
      up(`${p}.attn.q`, b.q);
      up(`${p}.attn.k`, b.k);
      up(`${p}.attn.v`, b.v);
      up(`${p}.attn.map`, b.attn);
      up(`${p}.attn.proj.input`, b.proj.input);
      up(`${p}.mlp.fc1.input`, b.fc1.input);
      up(`${p}.mlp.fc2.input`, b.fc2.input);
    });
    up('head.input', quantized.head.input);
  }

  static upload(ctx: GpuContext, q: QuantizedVit): FakeQuantVit {
    return new FakeQuantVit(ctx, VitModel.upload(ctx, dequantizedCheckpoint(q)), q);
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
      const cfg = this.quantized.config;
      const heads = cfg.numHeads;
      const hd = cfg.embedDim / heads;
      if (point === 'head.input') return this.fakeQuant(t, [[point, perTensor(t.size)]]);
      const m = /^(blocks\.\d+)\.(.+)$/.exec(point);
      if (!m) throw new Error(`unknown quantization point ${point}`);
      const [, block, rest] = m;
      const [batch, tokens] = t.shape;
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
