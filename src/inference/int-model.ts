/** The integer pipeline of any quantized model: IntVit for a ViT / DeiT, IntSwin for a Swin. */
import type { Classifier } from '../model/classifier.js';
import type { QuantizedModel, QuantizedSwin, QuantizedVit } from '../quant/quantized-model.js';
import type { GpuContext } from '../runtime/context.js';
import { IntSwin } from './int-swin.js';
import { IntVit } from './int-vit.js';

export function uploadIntModel(ctx: GpuContext, q: QuantizedModel): Classifier & { release(): void } {
  return q.config.family === 'swin' ? IntSwin.upload(ctx, q as QuantizedSwin) : IntVit.upload(ctx, q as QuantizedVit);
}
