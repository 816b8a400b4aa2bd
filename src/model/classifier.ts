/** What evaluation, inference and benchmarks run: a model mapping an image batch on the GPU to logits. */
import type { GpuContext, Tensor } from '../runtime/context.js';

export interface Classifier {
  readonly ctx: GpuContext;
  /** [channels, height, width] of one input image. */
  readonly inputShape: readonly [number, number, number];
  readonly numClasses: number;
  forward(images: Tensor): Tensor;
}
