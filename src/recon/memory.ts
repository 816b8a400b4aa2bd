/**
 * GPU memory of reconstruction. The caches dominate: for a block, the float inputs, float outputs
 * and quantized-prefix inputs of every calibration image, plus the next unit's quantized inputs
 * while they are produced (4 x images x tokens x width floats); for the patch embedding, the
 * images, their im2col patches and the float outputs. A cache larger than the adapter's largest
 * storage binding is split into chunks (src/recon/cache.ts).
 */
import type { VitConfig } from '../model/config.js';

export interface ReconMemory {
  /** Bytes of the largest single cache tensor. */
  largestTensorBytes: number;
  /** Peak bytes of all caches together (weights and per-step activations excluded: they are small). */
  peakBytes: number;
}

export function reconMemory(cfg: VitConfig, images: number): ReconMemory {
  const block = images * cfg.numTokens * cfg.embedDim * 4;
  const imageBytes = images * cfg.inChans * cfg.imgSize * cfg.imgSize * 4;
  const patchRows = images * cfg.numPatches * 4;
  const patchPhase = imageBytes + patchRows * cfg.inChans * cfg.patchSize ** 2 + patchRows * cfg.embedDim + 2 * block;
  return {
    largestTensorBytes: Math.max(block, patchRows * cfg.inChans * cfg.patchSize ** 2, imageBytes),
    peakBytes: Math.max(4 * block + imageBytes, patchPhase),
  };
}
