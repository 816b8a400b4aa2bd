/**
 * Reconstruction units (../shared/docs/fimaq-method.md §5.1): the patch embedding, each
 * transformer block and the head, each as a quantized forward that saves what its backward needs
 * and a backward that turns the output gradient into Adam steps on its AdaRound variables and
 * activation scales. Everything is recorded on the GPU; nothing is read back.
 */
import { add } from '../ops/add.js';
import { attentionContext, attentionScores } from '../ops/attention.js';
import { attentionContextBackward, attentionScoresBackward } from '../ops/attention-backward.js';
import { attentionBias } from '../ops/attention-bias.js';
import type { QuantView } from '../ops/fake-quant.js';
import { gelu } from '../ops/gelu.js';
import { geluBackward } from '../ops/gelu-backward.js';
import { layerNorm } from '../ops/layer-norm.js';
import { layerNormBackward } from '../ops/layer-norm-backward.js';
import { linearInputGrad, linearWeightGrad } from '../ops/linear-backward.js';
import { linear } from '../ops/matmul.js';
import { softmax } from '../ops/softmax.js';
import { softmaxBackward } from '../ops/softmax-backward.js';
import { type BlockShape, fromWindows, toWindows } from '../model/block-tail.js';
import type { GpuContext, Tensor } from '../runtime/context.js';
import { attentionPerHeadRow, perTensor, perToken, qkvPerHeadChannel, qkvPerHeadToken } from '../quant/views.js';
import { TrainableActivation, TrainableWeight } from './trainable.js';

/** Uniform noise for QDrop: `noise(slot, count)` gives a fresh tensor for this iteration and slot. */
export type NoiseSource = (slot: number, count: number) => Tensor;

/** Learning rates and regulariser settings of one optimisation step. */
export interface StepParams {
  lrRound: number;
  lrScale: number;
  roundWeight: number;
  beta: number;
}

export interface ReconUnit {
  readonly name: string;
  /** Soft-rounded, QDrop-ed forward that keeps what `backward` needs. */
  trainForward(x: Tensor, noise: NoiseSource): Tensor;
  /** Every variable's gradient from dL/dy of the last trainForward, kept until `step`. */
  backward(dy: Tensor): void;
  /** One Adam step on every AdaRound variable and activation scale. */
  step(params: StepParams): void;
  /** Drops what the last trainForward kept, without a backward (Fisher snapshots). */
  discard(): void;
  release(): void;
}

class Saved {
  private readonly tensors: Tensor[] = [];
  keep<T extends Tensor>(t: T): T {
    this.tensors.push(t);
    return t;
  }
  release(): void {
    for (const t of this.tensors) t.release();
    this.tensors.length = 0;
  }
}

/** Fake-quantizes x through one quantizer into a new tensor. */
function quantized(ctx: GpuContext, q: TrainableActivation, x: Tensor, view: QuantView, noise: Tensor): Tensor {
  const y = ctx.empty(x.shape, `${q.label}:fq`);
  q.apply(x, view, y, noise);
  return y;
}

/** Input gradient through one quantizer (when wanted) and its scale's gradient. */
function quantizerBackward(q: TrainableActivation, x: Tensor, view: QuantView, dy: Tensor, noise: Tensor, dx: Tensor | null): void {
  if (dx) q.inputGrad(x, view, dy, dx, noise);
  q.setScaleGrad(x, view, dy, noise);
}

export interface NormParams {
  gamma: Tensor;
  beta: Tensor;
}

/**
 * A pre-LN ViT block, or a Swin block (window attention with its bias, `shape.windows`): the four
 * linears under AdaRound and its eight activation quantizers.
 */
export class BlockUnit implements ReconUnit {
  private readonly saved = new Saved();
  private state: Record<string, Tensor> = {};

  constructor(
    private readonly ctx: GpuContext,
    readonly name: string,
    private readonly shape: BlockShape,
    private readonly norm1: NormParams,
    private readonly norm2: NormParams,
    readonly weights: { qkv: TrainableWeight; proj: TrainableWeight; fc1: TrainableWeight; fc2: TrainableWeight },
    readonly acts: Record<'qkvIn' | 'q' | 'k' | 'v' | 'attn' | 'projIn' | 'fc1In' | 'fc2In', TrainableActivation>,
  ) {}

  /** Quantizer views: the attention's on windows [B·nW, N, ·] in a Swin block, the MLP's on the tokens. */
  private views(x: Tensor) {
    const [B, T, D] = x.shape;
    const { heads: H, windows } = this.shape;
    const [Bw, N] = windows ? [B * windows.count, windows.size] : [B, T];
    const hd = D / H;
    const hidden = this.weights.fc1.quant.rows;
    return {
      windows: perToken(Bw, N, D),
      tokens: perToken(B, T, D),
      hidden: perToken(B, T, hidden),
      q: qkvPerHeadToken(Bw, N, H, hd, 0),
      k: qkvPerHeadToken(Bw, N, H, hd, 1),
      v: qkvPerHeadChannel(Bw, N, H, hd),
      attn: attentionPerHeadRow(Bw, H, N),
      alpha: 1 / Math.sqrt(hd),
    };
  }

  private forward(x: Tensor, noise: NoiseSource): Tensor {
    const { ctx, saved, acts, weights: w } = this;
    const v = this.views(x);
    const n = (slot: number, count: number) => saved.keep(noise(slot, count));
    const p = this.name;
    const { eps, heads: H, windows } = this.shape;
    const norm1 = layerNorm(ctx, x, this.norm1.gamma, this.norm1.beta, eps, `${p}.norm1`);
    const h1 = saved.keep(toWindows(ctx, norm1, windows, `${p}.windows`));
    if (h1 !== norm1) norm1.release();
    const n0 = n(0, h1.size);
    const h1q = saved.keep(quantized(ctx, acts.qkvIn, h1, v.windows, n0));
    const wQkv = saved.keep(w.qkv.softWeight());
    const qkv = saved.keep(linear(ctx, h1q, wQkv, w.qkv.bias, `${p}.attn.qkv`));
    const third = qkv.size / 3;
    const [n1, n2, n3] = [n(1, third), n(2, third), n(3, third)];
    const qkvQ = saved.keep(ctx.empty(qkv.shape, `${p}.attn.qkv:fq`));
    acts.q.apply(qkv, v.q, qkvQ, n1);
    acts.k.apply(qkv, v.k, qkvQ, n2);
    acts.v.apply(qkv, v.v, qkvQ, n3);
    const scores = attentionScores(ctx, qkvQ, H, `${p}.attn.scores`, v.alpha);
    if (windows) attentionBias(ctx, scores, windows.bias);
    const map = saved.keep(softmax(ctx, scores, `${p}.attn.softmax`));
    scores.release();
    const n4 = n(4, map.size);
    const mapQ = saved.keep(quantized(ctx, acts.attn, map, v.attn, n4));
    const heads = saved.keep(attentionContext(ctx, mapQ, qkvQ, `${p}.attn.context`));
    const n5 = n(5, heads.size);
    const headsQ = saved.keep(quantized(ctx, acts.projIn, heads, v.windows, n5));
    const wProj = saved.keep(w.proj.softWeight());
    const proj = linear(ctx, headsQ, wProj, w.proj.bias, `${p}.attn.proj`);
    const back = fromWindows(ctx, proj, windows, `${p}.unwindow`);
    if (back !== proj) proj.release();
    const x1 = saved.keep(add(ctx, x, back, `${p}.residual1`));
    back.release();
    const h2 = saved.keep(layerNorm(ctx, x1, this.norm2.gamma, this.norm2.beta, eps, `${p}.norm2`));
    const n6 = n(6, h2.size);
    const h2q = saved.keep(quantized(ctx, acts.fc1In, h2, v.tokens, n6));
    const wFc1 = saved.keep(w.fc1.softWeight());
    const f1 = saved.keep(linear(ctx, h2q, wFc1, w.fc1.bias, `${p}.mlp.fc1`));
    const g = saved.keep(gelu(ctx, f1, `${p}.mlp.gelu`));
    const n7 = n(7, g.size);
    const gq = saved.keep(quantized(ctx, acts.fc2In, g, v.hidden, n7));
    const wFc2 = saved.keep(w.fc2.softWeight());
    const f2 = linear(ctx, gq, wFc2, w.fc2.bias, `${p}.mlp.fc2`);
    const y = add(ctx, x1, f2, `${p}.residual2`);
    f2.release();
    this.state = { x, h1, n0, h1q, wQkv, qkv, n1, n2, n3, qkvQ, map, n4, mapQ, heads, n5, headsQ, wProj, x1, h2, n6, h2q, wFc1, f1, g, n7, gq, wFc2 } as Record<string, Tensor>;
    return y;
  }

  trainForward(x: Tensor, noise: NoiseSource): Tensor {
    return this.forward(x, noise);
  }

  backward(dy: Tensor): void {
    const { ctx, acts, weights: w } = this;
    const s = this.state;
    const v = this.views(s.x);
    const p = this.name;
    const D = s.x.shape[2];
    const hidden = w.fc1.quant.rows;

    // MLP: y = x1 + fc2(fq(gelu(fc1(fq(LN2(x1))))))
    const dGq = linearInputGrad(ctx, dy, s.wFc2, `${p}.mlp.fc2.dx`);
    w.fc2.setGrad(linearWeightGrad(ctx, dy, s.gq, D, `${p}.mlp.fc2.dw`));
    const dG = ctx.empty(s.g.shape, `${p}.mlp.gelu.dy`);
    quantizerBackward(acts.fc2In, s.g, v.hidden, dGq, s.n7, dG);
    dGq.release();
    const dF1 = geluBackward(ctx, s.f1, dG, `${p}.mlp.fc1.dy`);
    dG.release();
    const dH2q = linearInputGrad(ctx, dF1, s.wFc1, `${p}.mlp.fc1.dx`);
    w.fc1.setGrad(linearWeightGrad(ctx, dF1, s.h2q, hidden, `${p}.mlp.fc1.dw`));
    dF1.release();
    const dH2 = ctx.empty(s.h2.shape, `${p}.norm2.dy`);
    quantizerBackward(acts.fc1In, s.h2, v.tokens, dH2q, s.n6, dH2);
    dH2q.release();
    const dNorm2 = layerNormBackward(ctx, s.x1, this.norm2.gamma, dH2, this.shape.eps, `${p}.norm2.dx`);
    dH2.release();
    const dX1 = add(ctx, dy, dNorm2, `${p}.residual1.dy`);
    dNorm2.release();

    // Attention: x1 = x + proj(fq(fq(A).fq(v))), A = softmax(alpha fq(q).fq(k)^T (+ bias)), on
    // windows in a Swin block: the projection's gradient is gathered into them like the tokens.
    const dProj = toWindows(ctx, dX1, this.shape.windows, `${p}.unwindow.dy`);
    if (dProj !== dX1) dX1.release();
    const dHeadsQ = linearInputGrad(ctx, dProj, s.wProj, `${p}.attn.proj.dx`);
    w.proj.setGrad(linearWeightGrad(ctx, dProj, s.headsQ, D, `${p}.attn.proj.dw`));
    dProj.release();
    const dHeads = ctx.empty(s.heads.shape, `${p}.attn.context.dy`);
    quantizerBackward(acts.projIn, s.heads, v.windows, dHeadsQ, s.n5, dHeads);
    dHeadsQ.release();
    const dQkvQ = ctx.empty(s.qkv.shape, `${p}.attn.qkv.dyq`);
    const dMapQ = attentionContextBackward(ctx, dHeads, s.mapQ, s.qkvQ, dQkvQ, `${p}.attn`);
    dHeads.release();
    const dMap = ctx.empty(s.map.shape, `${p}.attn.softmax.dy`);
    quantizerBackward(acts.attn, s.map, v.attn, dMapQ, s.n4, dMap);
    dMapQ.release();
    const dScores = softmaxBackward(ctx, s.map, dMap, `${p}.attn.scores.dy`);
    dMap.release();
    attentionScoresBackward(ctx, dScores, s.qkvQ, dQkvQ, v.alpha);
    dScores.release();
    const dQkv = ctx.empty(s.qkv.shape, `${p}.attn.qkv.dy`);
    quantizerBackward(acts.q, s.qkv, v.q, dQkvQ, s.n1, dQkv);
    quantizerBackward(acts.k, s.qkv, v.k, dQkvQ, s.n2, dQkv);
    quantizerBackward(acts.v, s.qkv, v.v, dQkvQ, s.n3, dQkv);
    dQkvQ.release();
    const dH1q = linearInputGrad(ctx, dQkv, s.wQkv, `${p}.attn.qkv.dx`);
    w.qkv.setGrad(linearWeightGrad(ctx, dQkv, s.h1q, 3 * D, `${p}.attn.qkv.dw`));
    dQkv.release();
    // The block input is data: only the qkv input quantizer's scale needs this gradient.
    quantizerBackward(acts.qkvIn, s.h1, v.windows, dH1q, s.n0, null);
    dH1q.release();
    this.saved.release();
    this.state = {};
  }

  step(params: StepParams): void {
    for (const w of Object.values(this.weights)) w.step(params.lrRound, params.roundWeight, params.beta);
    for (const a of Object.values(this.acts)) a.step(params.lrScale);
  }

  discard(): void {
    this.saved.release();
    this.state = {};
  }

  /** Frees everything the unit owns, its LayerNorm parameters included. */
  release(): void {
    this.saved.release();
    for (const t of [this.norm1.gamma, this.norm1.beta, this.norm2.gamma, this.norm2.beta]) t.release();
    for (const t of Object.values(this.weights)) t.release();
    for (const a of Object.values(this.acts)) a.release();
  }
}

/**
 * A single quantized linear: the patch embedding (input [B, patches, C*p*p] of image patches, the
 * image not quantized) or the head (input [B, D] class-token features, per-tensor input quantizer).
 */
export class LinearUnit implements ReconUnit {
  private readonly saved = new Saved();
  private state: { xq: Tensor; w: Tensor; noise: Tensor | null; x: Tensor } | null = null;

  constructor(
    private readonly ctx: GpuContext,
    readonly name: string,
    readonly weight: TrainableWeight,
    readonly input: TrainableActivation | null,
  ) {}

  private forward(x: Tensor, noise: NoiseSource): Tensor {
    const { ctx, saved } = this;
    let xq = x;
    let n: Tensor | null = null;
    if (this.input) {
      n = saved.keep(noise(0, x.size));
      xq = saved.keep(quantized(ctx, this.input, x, perTensor(x.size), n));
    }
    const w = saved.keep(this.weight.softWeight());
    this.state = { xq, w, noise: n, x };
    return linear(ctx, xq, w, this.weight.bias, this.name);
  }

  trainForward(x: Tensor, noise: NoiseSource): Tensor {
    return this.forward(x, noise);
  }

  backward(dy: Tensor): void {
    const s = this.state;
    if (!s) throw new Error(`${this.name}: backward without a training forward`);
    const { ctx } = this;
    const rows = this.weight.quant.rows;
    if (this.input && s.noise) {
      const dXq = linearInputGrad(ctx, dy, s.w, `${this.name}.dx`);
      quantizerBackward(this.input, s.x, perTensor(s.x.size), dXq, s.noise, null);
      dXq.release();
    }
    this.weight.setGrad(linearWeightGrad(ctx, dy, s.xq, rows, `${this.name}.dw`));
    this.saved.release();
    this.state = null;
  }

  step(params: StepParams): void {
    this.weight.step(params.lrRound, params.roundWeight, params.beta);
    this.input?.step(params.lrScale);
  }

  discard(): void {
    this.saved.release();
    this.state = null;
  }

  release(): void {
    this.saved.release();
    this.weight.release();
    this.input?.release();
  }
}

/**
 * A LinearUnit with float layers around it that have nothing to learn: it keeps one tensor of
 * its forward (`kept`) until the backward or a discard, and owns the tensors it is given.
 */
abstract class WrappedLinearUnit implements ReconUnit {
  protected kept: Tensor | null = null;

  constructor(
    readonly inner: LinearUnit,
    private readonly owned: Tensor[],
  ) {}

  get name(): string {
    return this.inner.name;
  }

  abstract trainForward(x: Tensor, noise: NoiseSource): Tensor;
  abstract backward(dy: Tensor): void;

  /** Replaces the kept tensor. */
  protected keep(t: Tensor): Tensor {
    this.kept?.release();
    this.kept = t;
    return t;
  }

  protected dropKept(): void {
    this.kept?.release();
    this.kept = null;
  }

  step(params: StepParams): void {
    this.inner.step(params);
  }

  discard(): void {
    this.inner.discard();
    this.dropKept();
  }

  release(): void {
    this.discard();
    this.inner.release();
    for (const t of this.owned) t.release();
  }
}

/**
 * A LinearUnit behind float layers that see only the unit's input (data, so no gradient flows
 * through them): a Swin patch merging's 2x2 gather and LayerNorm before its reduction, a Swin
 * head's average pool before its fc. Keeps the mapped input, which the linear's backward reads.
 */
export class MappedInputUnit extends WrappedLinearUnit {
  constructor(
    inner: LinearUnit,
    private readonly map: (x: Tensor) => Tensor,
    owned: Tensor[] = [],
  ) {
    super(inner, owned);
  }

  trainForward(x: Tensor, noise: NoiseSource): Tensor {
    return this.inner.trainForward(this.keep(this.map(x)), noise);
  }

  backward(dy: Tensor): void {
    this.inner.backward(dy);
    this.dropKept();
  }
}

/** A LinearUnit followed by a float LayerNorm: a Swin's patch embedding (conv, then patch_embed.norm). Keeps the linear's output. */
export class NormedOutputUnit extends WrappedLinearUnit {
  constructor(
    private readonly ctx: GpuContext,
    inner: LinearUnit,
    private readonly norm: NormParams,
    private readonly eps: number,
  ) {
    super(inner, [norm.gamma, norm.beta]);
  }

  trainForward(x: Tensor, noise: NoiseSource): Tensor {
    const y = this.keep(this.inner.trainForward(x, noise));
    return layerNorm(this.ctx, y, this.norm.gamma, this.norm.beta, this.eps, `${this.name}.norm`);
  }

  backward(dy: Tensor): void {
    if (!this.kept) throw new Error(`${this.name}: backward without a training forward`);
    const dLinear = layerNormBackward(this.ctx, this.kept, this.norm.gamma, dy, this.eps, `${this.name}.norm.dx`);
    this.inner.backward(dLinear);
    dLinear.release();
    this.dropKept();
  }
}
