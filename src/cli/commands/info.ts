/**
 * `fimaq info`: architecture, size, cost of a model, and the GPU memory a quantize run with the
 * given method and settings needs (pipeline/model-info.ts; the same estimate quantize checks).
 */
import type { VitConfig } from '../../model/config.js';
import type { SwinConfig } from '../../model/swin-config.js';
import { memoryFitProblems, memoryPeakPhase, modelInfo, swinModelInfo } from '../../pipeline/model-info.js';
import { METHODS, type Method, isReconMethod } from '../../pipeline/quantize.js';
import { FimaqError } from '../../util/errors.js';
import { loadModel, print, resolveModelPath } from '../common.js';
import { type OptionName, type Values, checkApplicable, optionalPositiveInt, positiveInt } from '../options.js';
import { fisherSettings, quantizeOptions, reconSettings } from '../run-options.js';

/** The quantize options that change how much memory a run needs. */
const MEMORY_OPTIONS: OptionName[] = ['method', 'wbits', 'abits', 'calib-size', 'preset', 'batch', 'search-size', 'search-candidates', 'k', 'gpu-memory'];

export async function commandInfo(values: Values, given: Set<OptionName>): Promise<void> {
  const method = (values.method ?? 'fimaq') as Method;
  if (!METHODS.includes(method)) throw new FimaqError(`--method must be one of ${METHODS.join(', ')}, got '${values.method}'`);
  const usable = new Set(quantizeOptions(method));
  checkApplicable(given, ['model', ...MEMORY_OPTIONS.filter((o) => usable.has(o))], () => `does not apply to fimaq info --method ${method} (see fimaq --help)`);
  const modelPath = resolveModelPath(values.model);
  const { config: c } = await loadModel(modelPath);
  const recon = isReconMethod(method);
  const settings = recon ? reconSettings(values) : undefined;
  const images = settings?.calibSize ?? positiveInt(values['calib-size'], 'calib-size', 128);
  const budget = optionalPositiveInt(values['gpu-memory'], 'gpu-memory');
  const wbits = positiveInt(values.wbits, 'wbits', 4);
  const abits = positiveInt(values.abits, 'abits', 4);
  const shape = { method, wbits, abits, images, settings, fisher: recon && method !== 'mse' ? fisherSettings(values) : undefined };
  const info = c.family === 'swin' ? swinModelInfo(c, shape) : modelInfo(c, shape);
  const m = info.memory;
  // Buffer limits are the adapter's; only the budget is checked here (quantize checks both).
  const problems = budget === undefined ? [] : memoryFitProblems(m, { maxBufferSize: Infinity, maxStorageBufferBindingSize: Infinity }, budget * 2 ** 20);
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  const recText = m.reconstruction ? `; reconstruction on ${m.calibration_images} images, batch ${m.batch}: ${mib(m.reconstruction.peakBytes)} MiB (${m.reconstruction.peakAt})` : '';
  print(
    values,
    { command: 'info', model: modelPath, ...info, ...(budget !== undefined && { gpu_memory_bytes: budget * 2 ** 20, fits: problems.length === 0 }) },
    [
      `${modelPath}`,
      ...(c.family === 'swin' ? swinLines(c) : vitLines(c)),
      `parameters: ${info.parameters.toLocaleString('en-US')}; forward: ${(info.flops_per_image / 1e6).toFixed(1)} MFLOP per image`,
      `GPU memory of quantize --method ${method}${settings ? ` --preset ${values.preset ?? 'paper'}` : ''}: peak ${mib(m.peak_bytes)} MiB (${memoryPeakPhase(m)}), largest buffer ${mib(m.largest_buffer_bytes)} MiB`,
      `  calibration search on ${m.search_images} images: ${mib(m.calibration.peakBytes)} MiB (${m.calibration.peakAt})${recText}`,
      ...(budget === undefined ? [] : [problems.length === 0 ? `  fits --gpu-memory ${budget} MiB` : `  does not fit: ${problems.join('; ')}`]),
      preprocessLine(c.preprocess),
    ].join('\n'),
  );
}

function vitLines(c: VitConfig): string[] {
  return [
    `architecture: ${c.architecture} (${c.family}), ${c.depth} blocks, width ${c.embedDim}, ${c.numHeads} heads, MLP ${c.mlpHidden}`,
    `input: ${c.inChans}x${c.imgSize}x${c.imgSize}, patch ${c.patchSize} (${c.numPatches} patches + class token), ${c.numClasses} classes`,
  ];
}

/** A Swin's stages: windows, padding and shifts. */
function swinLines(c: SwinConfig): string[] {
  const grid = (n: number) => `${n}x${n}`;
  return [
    `architecture: ${c.architecture} (swin), ${c.stages.length} stages, width ${c.embedDim}, window ${c.windowSize}`,
    ...c.stages.map((s, i) => {
      const g = s.windowing[1];
      return `  stage ${i}: ${s.downsample ? 'patch merging, then ' : ''}${s.depth} blocks on ${grid(s.resolution)} tokens, width ${s.dim}, ${s.numHeads} heads, MLP ${s.mlpHidden}; ${g.numWindows} windows of ${grid(g.window)}${g.padded > s.resolution ? ` (grid padded to ${grid(g.padded)})` : ''}, odd blocks shifted by ${g.shift}`;
    }),
    `input: ${c.inChans}x${c.imgSize}x${c.imgSize}, patch ${c.patchSize} (${grid(c.gridSize)} patches), average pooling, ${c.numClasses} classes`,
  ];
}

function preprocessLine(p: SwinConfig['preprocess']): string {
  return `preprocessing: resize ${p.interpolation} to ${Math.floor(p.inputSize[1] / p.cropPct)}, centre crop ${p.inputSize[1]} (crop_pct ${p.cropPct}), mean [${p.mean.join(', ')}], std [${p.std.join(', ')}]`;
}
