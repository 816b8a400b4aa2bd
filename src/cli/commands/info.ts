/** `fimaq info`: architecture, size, cost and GPU memory of a model (pipeline/model-info.ts). */
import { modelInfo } from '../../pipeline/model-info.js';
import { PRESETS } from '../../recon/settings.js';
import { loadModel, print, resolveModelPath } from '../common.js';
import { type OptionName, type Values, checkApplicable } from '../options.js';

export async function commandInfo(values: Values, given: Set<OptionName>): Promise<void> {
  checkApplicable(given, ['model'], () => 'does not apply to fimaq info (see fimaq --help)');
  const modelPath = resolveModelPath(values.model);
  const { config: c } = await loadModel(modelPath);
  // The method's setting: reconstruction on 1,024 images, the search on 128.
  const info = modelInfo(c, PRESETS.paper.calibSize, PRESETS.paper.searchSize);
  const p = c.preprocess;
  const mib = (b: number) => (b / 2 ** 20).toFixed(0);
  const recon = info.reconstruction_memory;
  print(
    values,
    { command: 'info', model: modelPath, ...info },
    [
      `${modelPath}`,
      `architecture: ${c.architecture} (${c.family}), ${c.depth} blocks, width ${c.embedDim}, ${c.numHeads} heads, MLP ${c.mlpHidden}`,
      `input: ${c.inChans}x${c.imgSize}x${c.imgSize}, patch ${c.patchSize} (${c.numPatches} patches + class token), ${c.numClasses} classes`,
      `parameters: ${info.parameters.toLocaleString('en-US')}; forward: ${(info.flops_per_image / 1e6).toFixed(1)} MFLOP per image`,
      `reconstruction on ${recon.images} images: ${mib(recon.peak_bytes)} MiB of GPU caches, largest buffer ${mib(recon.largest_buffer_bytes)} MiB; calibration on ${PRESETS.paper.searchSize}: largest binding ${mib(info.calibration_largest_binding_bytes)} MiB`,
      `preprocessing: resize ${p.interpolation} to ${Math.floor(p.inputSize[1] / p.cropPct)}, centre crop ${p.inputSize[1]} (crop_pct ${p.cropPct}), mean [${p.mean.join(', ')}], std [${p.std.join(', ')}]`,
    ].join('\n'),
  );
}
