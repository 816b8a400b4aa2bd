/**
 * Top-1 of the float model, the calibration-only model and the quantized model on the same images,
 * side by side: what `fimaq quantize --eval` prints and the web app's result table shows. The
 * quantized models run as the method's fake-quant simulation.
 */
import type { Dataset } from '../data/dataset.js';
import { evaluate } from '../inference/evaluate.js';
import type { Classifier } from '../model/classifier.js';
import type { ModelCheckpoint } from '../model/checkpoint.js';
import { uploadFloatModel } from '../model/float-model.js';
import { FakeQuantModel } from '../quant/fake-quant-model.js';
import type { QuantizedModel } from '../quant/quantized-model.js';
import type { GpuContext } from '../runtime/context.js';
import type { PipelineProgress } from './quantize.js';

export interface Comparison {
  data: string;
  count: number;
  float: number;
  /** null when the run had no calibration-only model (resumed past calibration, or calib / rtn). */
  calib: number | null;
  quantized: number;
}

export interface CompareOptions {
  limit?: number;
  onProgress?: (p: PipelineProgress) => void;
  signal?: AbortSignal;
}

export async function compareTop1(
  ctx: GpuContext,
  models: { float: ModelCheckpoint; calibrated: QuantizedModel | null; quantized: QuantizedModel },
  data: Dataset,
  opts: CompareOptions = {},
): Promise<Comparison> {
  const top1 = async (stage: string, model: Classifier & { release(): void }) => {
    try {
      return await evaluate(model, data, { limit: opts.limit, signal: opts.signal, onProgress: (done, total) => opts.onProgress?.({ phase: 'evaluate', stage, done, total }) });
    } finally {
      model.release();
    }
  };
  const float = await top1('float', uploadFloatModel(ctx, models.float));
  const calib = models.calibrated ? (await top1('calibration only', FakeQuantModel.upload(ctx, models.calibrated))).top1 : null;
  const quantized = (await top1(models.quantized.info.method, FakeQuantModel.upload(ctx, models.quantized))).top1;
  return { data: data.description, count: float.count, float: float.top1, calib, quantized };
}
