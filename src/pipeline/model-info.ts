/**
 * What `fimaq info` prints and the web app shows about a model: architecture, size, cost, the
 * GPU memory quantization needs, and whether that fits an adapter's limits.
 */
import type { VitConfig } from '../model/config.js';
import { forwardFlops, parameterCount } from '../model/vit.js';
import { reconMemory } from '../recon/memory.js';

export interface ModelInfo {
  architecture: string;
  family: string;
  img_size: number;
  patch_size: number;
  in_chans: number;
  embed_dim: number;
  depth: number;
  num_heads: number;
  mlp_hidden: number;
  num_classes: number;
  tokens: number;
  parameters: number;
  flops_per_image: number;
  reconstruction_memory: { images: number; peak_bytes: number; largest_buffer_bytes: number };
  /** The largest single tensor calibration keeps (captures are one binding each): [images, tokens, mlp] or the attention map. */
  calibration_largest_binding_bytes: number;
  preprocess: VitConfig['preprocess'];
  label_names: string[] | null;
}

export function modelInfo(c: VitConfig, images: number, calibImages: number): ModelInfo {
  const recon = reconMemory(c, images);
  return {
    architecture: c.architecture,
    family: c.family,
    img_size: c.imgSize,
    patch_size: c.patchSize,
    in_chans: c.inChans,
    embed_dim: c.embedDim,
    depth: c.depth,
    num_heads: c.numHeads,
    mlp_hidden: c.mlpHidden,
    num_classes: c.numClasses,
    tokens: c.numTokens,
    parameters: parameterCount(c),
    flops_per_image: forwardFlops(c),
    reconstruction_memory: { images, peak_bytes: recon.peakBytes, largest_buffer_bytes: recon.largestTensorBytes },
    calibration_largest_binding_bytes: calibImages * Math.max(c.numTokens * c.mlpHidden, c.numHeads * c.numTokens * c.numTokens) * 4,
    preprocess: c.preprocess,
    label_names: c.labelNames ?? null,
  };
}

/**
 * Why the model will not run on an adapter with these limits, one reason per line; empty when it
 * fits. Reconstruction caches are split into chunks, so only their total counts against the
 * buffer size; calibration captures are single bindings.
 */
export function adapterFitProblems(info: ModelInfo, limits: { maxBufferSize: number; maxStorageBufferBindingSize: number }): string[] {
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  const problems: string[] = [];
  if (info.calibration_largest_binding_bytes > limits.maxStorageBufferBindingSize) {
    problems.push(`calibration keeps a ${mib(info.calibration_largest_binding_bytes)} tensor, above this adapter's largest storage binding (${mib(limits.maxStorageBufferBindingSize)}): use fewer calibration images`);
  }
  if (info.reconstruction_memory.largest_buffer_bytes > limits.maxBufferSize) {
    problems.push(`reconstruction keeps a ${mib(info.reconstruction_memory.largest_buffer_bytes)} cache, above this adapter's largest buffer (${mib(limits.maxBufferSize)}): use fewer images`);
  }
  return problems;
}
