/**
 * `fimaq quantize --reproduce <file>`: reruns the quantization a file records (pipeline/reproduce.ts)
 * on the model and images given now, and reports whether the result is byte-identical to the file.
 */
import { resolve } from 'node:path';
import { openDataset } from '../../data/open.js';
import { loadCheckpoint } from '../../io/checkpoint-node.js';
import { parseQuantizedModel } from '../../io/quantized-file.js';
import { readQuantizedBytes } from '../../io/quantized-file-node.js';
import { MemoryStore } from '../../io/run-store.js';
import { FolderStore } from '../../io/run-store-node.js';
import { adapterName, calibrationImages, quantizeModel } from '../../pipeline/quantize.js';
import { fileDifferences, recordedRun, reproductionRequest } from '../../pipeline/reproduce.js';
import { FimaqError } from '../../util/errors.js';
import { TOOL_VERSION, adapterJson, indexList, print, resolveModelPath, unlabelled, withContext } from '../common.js';
import { type OptionName, type Values, checkApplicable } from '../options.js';
import { dataInput, fileInput, guardOutputs, modelInputs } from '../output-guard.js';
import { Progress } from '../progress.js';

export async function commandReproduce(values: Values, given: Set<OptionName>): Promise<void> {
  checkApplicable(given, ['reproduce', 'model', 'calib', 'calib-indices', 'out'], () => 'does not apply with --reproduce: the file records every setting');
  const file = resolve(values.reproduce as string);
  const original = await readQuantizedBytes(file);
  const run = recordedRun(parseQuantizedModel(original, file), file);
  const modelPath = resolveModelPath(values.model);
  // The file names its calibration data; a recorded data set name is also a data spec.
  const calibSpec = values.calib ?? (/^fashion-mnist:(train|test)$/.test(run.calibData) ? run.calibData : undefined);
  if (!calibSpec) throw new FimaqError(`--calib is required: ${file} was calibrated on '${run.calibData}', which is not a data set fimaq can find by name`);
  if (run.selection === 'file' && !values['calib-indices']) throw new FimaqError(`--calib-indices is required: ${file} was calibrated on images chosen by an index list`);
  const inputs = [...modelInputs(modelPath), ...dataInput(calibSpec, '--calib'), ...fileInput(values['calib-indices'], '--calib-indices'), ...fileInput(file, '--reproduce')];
  const out = values.out ? resolve(values.out) : null;
  const lock = out ? await guardOutputs(`fimaq quantize --reproduce ${values.reproduce} --out ${values.out}`, [{ path: values.out as string, option: '--out', extension: '.safetensors', what: 'a quantized-model file' }], inputs, [{ path: `${out}.partial`, what: 'the checkpoint folder of --out' }]) : null;
  try {
    const ckpt = await loadCheckpoint(modelPath);
    const data = await openDataset(calibSpec, ckpt.config.preprocess, unlabelled(ckpt.config));
    const calibration = await calibrationImages(data, run.calibSize, run.seed, await indexList(values['calib-indices'], data.count));
    const request = await reproductionRequest(run, ckpt, calibration, TOOL_VERSION, file);
    await withContext(values, async (ctx) => {
      const notes: string[] = [];
      if (run.toolVersion !== TOOL_VERSION) notes.push(`the file was made by fimaq ${run.toolVersion}, this is ${TOOL_VERSION}`);
      if (run.adapter !== adapterName(ctx.adapter)) notes.push(`the file was made on ${run.adapter}, this is ${adapterName(ctx.adapter)}: float results may differ`);
      for (const n of notes) process.stderr.write(`fimaq: ${n}\n`);
      const progress = new Progress(`reproduce ${run.method} W${run.wbits}A${run.abits}`);
      const r = await quantizeModel(ctx, request, { store: out ? new FolderStore(out) : new MemoryStore(), checkpoints: out ? 'resume' : 'fresh', onProgress: (p) => progress.update(p.done, p.total, `${p.phase} ${p.stage}`) });
      const identical = original.length === r.bytes.length && original.every((b, i) => b === r.bytes[i]);
      const differences = identical ? [] : fileDifferences(original, r.bytes);
      const json = { command: 'quantize', reproduce: file, identical, differences, method: run.method, wbits: run.wbits, abits: run.abits, seed: run.seed, notes, output: out, adapter: adapterJson(ctx.adapter) };
      const verdict = identical ? 'byte-identical to the file' : `different from the file in ${differences.length} places: ${differences.slice(0, 8).join(', ')}${differences.length > 8 ? ', ...' : ''}`;
      print(values, json, `reproduced ${file} (${run.method} W${run.wbits}A${run.abits}, seed ${run.seed}): ${verdict}${out ? `\nwrote ${out}` : ''}`);
      if (!identical) throw new FimaqError(`the reproduction of ${file} is not byte-identical (${differences.slice(0, 3).join(', ')})`);
    });
  } finally {
    await lock?.release();
  }
}
