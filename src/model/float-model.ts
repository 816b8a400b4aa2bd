/** The float model of any supported checkpoint, on the GPU. */
import type { GpuContext } from '../runtime/context.js';
import { type ModelCheckpoint, isSwinCheckpoint } from './checkpoint.js';
import type { Classifier } from './classifier.js';
import { SwinModel } from './swin.js';
import { VitModel } from './vit.js';

export function uploadFloatModel(ctx: GpuContext, ckpt: ModelCheckpoint): Classifier & { release(): void } {
  return isSwinCheckpoint(ckpt) ? SwinModel.upload(ctx, ckpt) : VitModel.upload(ctx, ckpt);
}
