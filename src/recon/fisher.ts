/**
 * Fisher snapshots of the method (../shared/docs/fimaq-method.md §6.2): with only the current unit
 * quantized (soft rounding, QDrop active) and the rest of the network in float, every calibration
 * image goes forward to the logits; the KL divergence to the float model's softened outputs
 * (temperature T) is backpropagated through the float tail to the unit's output. The mean |gradient|
 * and the mean |output error| over the calibration set are accumulated batch by batch on the GPU,
 * so no per-image gradient is ever kept.
 */
import { absAccumulate } from '../ops/abs-accumulate.js';
import { klGrad } from '../ops/kl-grad.js';
import type { GpuContext, Tensor } from '../runtime/context.js';
import type { RowCache } from '../quant/capture.js';
import type { NoiseSource, ReconUnit } from './units.js';

/** The float rest of the model after a unit: logits from the unit's output, and the gradient back. */
export interface FisherTail {
  forward(z: Tensor): Tensor;
  backward(dLogits: Tensor): Tensor;
  release(): void;
}

export interface SnapshotSums {
  /** Σ over images of |dL/dz| for the unit's output z, [D] (D = the output's size per image). */
  gradSum: Tensor;
  /** Σ over images of |z_q - z_fp|, [D]. */
  errorSum: Tensor;
  images: number;
}

export interface SnapshotInputs {
  /** Float inputs of the unit (the float model runs every earlier unit). */
  xFp: RowCache;
  /** Float outputs of the unit. */
  yFp: RowCache;
  /** Float model logits. */
  logitsFp: RowCache;
  batch: number;
  temperature: number;
  /** QDrop noise of the given batch (slot, count). */
  noise: (batchIndex: number) => NoiseSource;
}

/**
 * The snapshot's pass over the calibration set: per batch, the unit's training forward (then
 * discarded), the float tail to the logits, the KL gradient at the temperature and its backward
 * to the unit's output. `each` receives the batch's gradient g and output z [n, D] (freed after).
 */
export function snapshotPass(ctx: GpuContext, unit: ReconUnit, tail: FisherTail, s: SnapshotInputs, each: (g: Tensor, z: Tensor, from: number, n: number) => void): void {
  const count = s.xFp.count;
  for (let from = 0, k = 0; from < count; from += s.batch, k++) {
    const n = Math.min(s.batch, count - from);
    const x = s.xFp.slice(from, n, 'fisher.x');
    const z = unit.trainForward(x, s.noise(k));
    unit.discard();
    x.release();
    const logits = tail.forward(z);
    const target = s.logitsFp.slice(from, n, 'fisher.logits_fp');
    const dLogits = klGrad(ctx, logits, target, n, 'fisher.dlogits', s.temperature);
    logits.release();
    target.release();
    const g = tail.backward(dLogits);
    dLogits.release();
    each(g, z, from, n);
    g.release();
    z.release();
  }
}

/** One snapshot: the streamed sums over the whole calibration set. */
export function fisherSnapshot(ctx: GpuContext, unit: ReconUnit, tail: FisherTail, s: SnapshotInputs): SnapshotSums {
  const D = s.yFp.rowSize;
  const gradSum = ctx.empty([D], 'fisher.grad_sum');
  const errorSum = ctx.empty([D], 'fisher.error_sum');
  ctx.clear(gradSum);
  ctx.clear(errorSum);
  snapshotPass(ctx, unit, tail, s, (g, z, from, n) => {
    absAccumulate(ctx, g, null, gradSum);
    const zFp = s.yFp.slice(from, n, 'fisher.y_fp');
    absAccumulate(ctx, z, zFp, errorSum);
    zFp.release();
  });
  return { gradSum, errorSum, images: s.xFp.count };
}
