/**
 * Runs calibration work over the whole calibration set in batches, keeping every result on the
 * GPU as one tensor [images, ...]: block inputs and outputs, and the tensors at the quantization
 * points (through VitModel hooks).
 */
import type { ForwardHooks } from '../model/vit.js';
import type { GpuContext, Tensor } from '../runtime/context.js';

/** Concatenates per-batch tensors along the first dimension into `target` (allocated on first use). */
export class Gather {
  private target: Tensor | null = null;
  constructor(private readonly ctx: GpuContext, private readonly total: number, private readonly label: string) {}

  put(t: Tensor, from: number): void {
    const perImage = t.size / t.shape[0];
    if (!this.target) this.target = this.ctx.empty([this.total, ...t.shape.slice(1)], this.label);
    this.ctx.copy(t, this.target, t.size, 0, from * perImage);
  }

  get tensor(): Tensor {
    if (!this.target) throw new Error(`${this.label}: nothing gathered`);
    return this.target;
  }
}

/** Hooks that gather the tensors at the named points (and leave the forward unchanged). */
export class CaptureHooks implements ForwardHooks {
  readonly gathered = new Map<string, Gather>();
  from = 0;
  constructor(private readonly ctx: GpuContext, private readonly total: number, private readonly points: ReadonlySet<string>) {}

  activation(point: string, t: Tensor): Tensor {
    if (this.points.has(point)) {
      let g = this.gathered.get(point);
      if (!g) {
        g = new Gather(this.ctx, this.total, point);
        this.gathered.set(point, g);
      }
      g.put(t, this.from);
    }
    return t;
  }

  take(point: string): Tensor {
    const g = this.gathered.get(point);
    if (!g) throw new Error(`point ${point} was not captured`);
    return g.tensor;
  }
}

/** Calls run(from, count) for consecutive batches covering `total` images. */
export function forBatches(total: number, batch: number, run: (from: number, count: number) => void): void {
  for (let from = 0; from < total; from += batch) run(from, Math.min(batch, total - from));
}

/** A view of images [from, from + count) of a [total, ...] tensor, copied into its own tensor. */
export function sliceImages(ctx: GpuContext, t: Tensor, from: number, count: number, label: string): Tensor {
  const perImage = t.size / t.shape[0];
  const out = ctx.empty([count, ...t.shape.slice(1)], label);
  ctx.copy(t, out, count * perImage, from * perImage, 0);
  return out;
}
