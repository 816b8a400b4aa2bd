/**
 * Reproducing a quantized file: the file records what made it (method, bits, seed, every setting,
 * the calibration data's name, selection and pixel digest, the float weights' digest, the adapter
 * and the tool version), so the same request can be rebuilt, checked against the model and the
 * images given now, run again and compared byte for byte with the file.
 */
import { parseQuantizedModel } from '../io/quantized-file.js';
import type { ModelCheckpoint } from '../model/checkpoint.js';
import { type QuantizedModel, modelQuantizers } from '../quant/quantized-model.js';
import type { FisherSettings } from '../recon/losses.js';
import type { ReconSettings } from '../recon/settings.js';
import { floatBytes, sha256Hex, tensorsDigest } from '../util/digest.js';
import { FimaqError } from '../util/errors.js';
import { type CalibrationImages, METHODS, type Method, type QuantizeRequest, isReconMethod } from './quantize.js';

/** What a file says about the run that made it. */
export interface RecordedRun {
  method: Method;
  wbits: number;
  abits: number;
  seed: number;
  calibSize: number;
  calibData: string;
  selection: 'seeded' | 'file';
  settings?: ReconSettings;
  preset?: string;
  fisher?: FisherSettings;
  modelDigest: string;
  calibDigest: string;
  adapter: string;
  toolVersion: string;
}

/** The run recorded in a file; a file that does not record one (an older version's) is refused. */
export function recordedRun(q: QuantizedModel, source: string): RecordedRun {
  const d = q.info.details ?? {};
  const str = (key: string) => {
    if (typeof d[key] !== 'string') throw new FimaqError(`${source}: records no ${key}, so it cannot be reproduced (made by fimaq ${q.info.toolVersion}?)`);
    return d[key] as string;
  };
  const method = q.info.method as Method;
  if (!METHODS.includes(method)) throw new FimaqError(`${source}: method '${q.info.method}' is not one fimaq can repeat`);
  const recon = isReconMethod(method);
  if (recon && (typeof d.settings !== 'object' || d.settings === null)) throw new FimaqError(`${source}: records no reconstruction settings, so it cannot be reproduced`);
  const selection = str('calib_indices');
  if (selection !== 'seeded' && selection !== 'file') throw new FimaqError(`${source}: calib_indices '${selection}' is neither seeded nor file`);
  return {
    method,
    wbits: q.info.wbits,
    abits: q.info.abits,
    seed: q.info.seed,
    calibSize: q.info.calibSize,
    calibData: q.info.calibData,
    selection,
    settings: recon ? (d.settings as ReconSettings) : undefined,
    preset: recon ? String(d.preset) : undefined,
    fisher: recon && d.fisher ? (d.fisher as FisherSettings) : undefined,
    modelDigest: str('model_sha256'),
    calibDigest: str('calib_sha256'),
    adapter: str('adapter'),
    toolVersion: q.info.toolVersion,
  };
}

/** The request that repeats `run`, after checking that the model and the images are the ones it used. */
export async function reproductionRequest(run: RecordedRun, checkpoint: ModelCheckpoint, calibration: CalibrationImages, toolVersion: string, source: string): Promise<QuantizeRequest> {
  if ((await tensorsDigest(checkpoint.weights)) !== run.modelDigest) {
    throw new FimaqError(`${source}: was made from other float weights than ${checkpoint.source}'s (model_sha256 differs)`);
  }
  if (calibration.count !== run.calibSize) throw new FimaqError(`${source}: was calibrated on ${run.calibSize} images, not ${calibration.count}`);
  if ((await sha256Hex(floatBytes(calibration.pixels))) !== run.calibDigest) {
    throw new FimaqError(`${source}: was calibrated on other images than those of ${calibration.name} chosen now (calib_sha256 differs): give the same data${run.selection === 'file' ? ' and --calib-indices' : ''}`);
  }
  return {
    checkpoint,
    calibration,
    method: run.method,
    wbits: run.wbits,
    abits: run.abits,
    seed: run.seed,
    settings: run.settings,
    preset: run.preset,
    fisher: run.fisher,
    toolVersion,
  };
}

/** Names of the tensors and metadata keys in which two quantized files differ (empty when equal). */
export function fileDifferences(a: Uint8Array, b: Uint8Array): string[] {
  const qa = parseQuantizedModel(a, 'the recorded file');
  const qb = parseQuantizedModel(b, 'the reproduced file');
  const differ: string[] = [];
  // Typed arrays and maps as plain lists, so that equal contents give equal text.
  const canonical = (x: unknown) => JSON.stringify(x, (_, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v instanceof Map ? [...v] : v));
  const same = (x: unknown, y: unknown) => canonical(x) === canonical(y);
  for (const [name, v] of qa.floats) if (!same(v, qb.floats.get(name))) differ.push(name);
  const parts = (q: QuantizedModel): [string, unknown][] => {
    const { weights, activations } = modelQuantizers(q);
    return [...weights, ...activations];
  };
  const pb = new Map(parts(qb));
  for (const [name, v] of parts(qa)) if (!same(v, pb.get(name))) differ.push(name);
  for (const key of Object.keys({ ...qa.info, ...qb.info }) as (keyof QuantizedModel['info'])[]) {
    if (!same(qa.info[key], qb.info[key])) differ.push(`metadata ${key}`);
  }
  return differ;
}
