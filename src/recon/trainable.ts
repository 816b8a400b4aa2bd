/**
 * The trainable quantizers of stage B (../shared/docs/fimaq-method.md §5.3): AdaRound rounding
 * variables for weights (scale and zero-point frozen) and learnable activation scales
 * (zero-points frozen), each with its Adam state on the GPU.
 */
import { adamStep } from '../ops/adam.js';
import { adaroundBackward } from '../ops/adaround-backward.js';
import { adaroundInit } from '../ops/adaround-init.js';
import { adaroundWeight } from '../ops/adaround-weight.js';
import type { QuantView } from '../ops/fake-quant.js';
import { fakeQuantBackwardInto } from '../ops/fake-quant-backward.js';
import { fakeQuantScaleGrad } from '../ops/fake-quant-scale-grad.js';
import { fakeQuantTrainInto } from '../ops/fake-quant-train.js';
import type { GpuContext, Tensor } from '../runtime/context.js';
import type { ActivationQuant, WeightQuant } from '../quant/quantized-model.js';

/** One Adam-optimised parameter tensor. */
class AdamState {
  readonly m: Tensor;
  readonly v: Tensor;
  private steps = 0;
  constructor(private readonly ctx: GpuContext, readonly param: Tensor, label: string) {
    this.m = ctx.empty(param.shape, `${label}.adam_m`);
    this.v = ctx.empty(param.shape, `${label}.adam_v`);
    ctx.clear(this.m);
    ctx.clear(this.v);
  }

  /** Applies one Adam step with this gradient (which it releases). */
  step(grad: Tensor, lr: number): void {
    this.steps++;
    adamStep(this.ctx, this.param, grad, this.m, this.v, { lr, step: this.steps });
    grad.release();
  }

  release(): void {
    this.m.release();
    this.v.release();
  }
}

/** A linear (or patch-embedding) weight under AdaRound, with its float bias. */
export class TrainableWeight {
  readonly base: Tensor;
  readonly alpha: Tensor;
  readonly scale: Tensor;
  readonly zeroPoint: Tensor;
  readonly bias: Tensor;
  private readonly adam: AdamState;
  private dWeight: Tensor | null = null;

  constructor(private readonly ctx: GpuContext, readonly quant: WeightQuant, weight: Float32Array, bias: Float32Array, readonly label: string) {
    const w = ctx.upload(weight, [quant.rows, quant.cols], `${label}.weight`);
    this.scale = ctx.upload(quant.scale, [quant.rows], `${label}.weight.scale`);
    this.zeroPoint = ctx.upload(Float32Array.from(quant.zeroPoint), [quant.rows], `${label}.weight.zero_point`);
    const init = adaroundInit(ctx, w, this.scale, label);
    w.release();
    this.base = init.base;
    this.alpha = init.alpha;
    this.bias = ctx.upload(bias, [quant.rows], `${label}.bias`);
    this.adam = new AdamState(ctx, this.alpha, `${label}.alpha`);
  }

  /** The soft-rounded weight the layer trains with. */
  softWeight(): Tensor {
    return adaroundWeight(this.ctx, this.base, this.alpha, this.scale, this.zeroPoint, this.quant.bits, false, `${this.label}.what`);
  }

  /** Keeps dL/dŴ from the backward pass until `step`. */
  setGrad(dWeight: Tensor): void {
    this.dWeight?.release();
    this.dWeight = dWeight;
  }

  /** dL/dalpha: the kept gradient through the soft rounding, plus the rounding regulariser's. */
  alphaGrad(roundWeight: number, beta: number): Tensor {
    if (!this.dWeight) throw new Error(`${this.label}: no gradient to step with`);
    return adaroundBackward(this.ctx, this.base, this.alpha, this.scale, this.zeroPoint, this.quant.bits, this.dWeight, roundWeight, beta, `${this.label}.dalpha`);
  }

  /** One Adam step on alpha; consumes the kept gradient. */
  step(lr: number, roundWeight: number, beta: number): void {
    this.adam.step(this.alphaGrad(roundWeight, beta), lr);
    this.dWeight?.release();
    this.dWeight = null;
  }

  /** The hard-rounded integer codes clamp(floor(w/s) + [alpha >= 0] + z, 0, qmax). */
  async codes(): Promise<WeightQuant> {
    const base = await this.ctx.read(this.base);
    const alpha = await this.ctx.read(this.alpha);
    const { rows, cols, bits } = this.quant;
    const qmax = 2 ** bits - 1;
    const codes = new Uint8Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const z = this.quant.zeroPoint[r];
      for (let c = 0; c < cols; c++) {
        const i = r * cols + c;
        codes[i] = Math.min(qmax, Math.max(0, base[i] + (alpha[i] >= 0 ? 1 : 0) + z));
      }
    }
    return { ...this.quant, codes };
  }

  release(): void {
    for (const t of [this.base, this.alpha, this.scale, this.zeroPoint, this.bias]) t.release();
    this.dWeight?.release();
    this.adam.release();
  }
}

/** An activation quantizer with a learnable scale (per token, per head x token, ...). */
export class TrainableActivation {
  readonly scale: Tensor;
  readonly zeroPoint: Tensor;
  /** dL/dscale of the last backward pass. */
  grad: Tensor | null = null;
  private readonly adam: AdamState;

  constructor(private readonly ctx: GpuContext, readonly quant: ActivationQuant, readonly keepProb: number, readonly label: string) {
    this.scale = ctx.upload(quant.scale, [quant.scale.length], `${label}.scale`);
    this.zeroPoint = ctx.upload(quant.zeroPoint, [quant.zeroPoint.length], `${label}.zero_point`);
    this.adam = new AdamState(ctx, this.scale, label);
  }

  /** y[view] = fakequant(x[view]), QDrop keeping the quantized value where noise < keepProb. */
  apply(x: Tensor, view: QuantView, y: Tensor, noise: Tensor): void {
    fakeQuantTrainInto(this.ctx, x, this.scale, this.zeroPoint, noise, this.keepProb, this.quant.bits, view, y);
  }

  /** dx[view] from dy[view] (straight-through inside the range, zero where clamped). */
  inputGrad(x: Tensor, view: QuantView, dy: Tensor, dx: Tensor, noise: Tensor): void {
    fakeQuantBackwardInto(this.ctx, x, this.scale, this.zeroPoint, noise, this.keepProb, this.quant.bits, view, dy, dx);
  }

  /** Computes and keeps dL/dscale (shaped like the scale) until `step`. */
  setScaleGrad(x: Tensor, view: QuantView, dy: Tensor, noise: Tensor): void {
    this.grad?.release();
    this.grad = fakeQuantScaleGrad(this.ctx, x, this.scale, this.zeroPoint, noise, this.keepProb, this.quant.bits, view, dy, `${this.label}.dscale`);
  }

  /** One Adam step on the scale; consumes the kept gradient. */
  step(lr: number): void {
    if (!this.grad) throw new Error(`${this.label}: no gradient to step with`);
    this.adam.step(this.grad, lr);
    this.grad = null;
  }

  async learned(): Promise<ActivationQuant> {
    return { ...this.quant, scale: await this.ctx.read(this.scale) };
  }

  release(): void {
    this.scale.release();
    this.zeroPoint.release();
    this.grad?.release();
    this.adam.release();
  }
}
