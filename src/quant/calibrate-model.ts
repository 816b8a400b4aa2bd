/** Calibration of any supported checkpoint: the ViT/DeiT graph or the Swin graph. */
import { type ModelCheckpoint, isSwinCheckpoint } from '../model/checkpoint.js';
import type { GpuContext } from '../runtime/context.js';
import { type CalibrateOptions, calibrate } from './calibrate.js';
import { calibrateSwin } from './calibrate-swin.js';
import type { QuantizedModel } from './quantized-model.js';

export interface ModelCalibration {
  quantized: Omit<QuantizedModel, 'info' | 'configText'>;
  /** The float parameters after RepQ-ViT folding (see CalibrationResult). */
  reparameterized: Map<string, Float32Array>;
}

export async function calibrateModel(ctx: GpuContext, ckpt: ModelCheckpoint, images: Float32Array, count: number, opts: CalibrateOptions): Promise<ModelCalibration> {
  return isSwinCheckpoint(ckpt) ? calibrateSwin(ctx, ckpt, images, count, opts) : calibrate(ctx, ckpt, images, count, opts);
}
