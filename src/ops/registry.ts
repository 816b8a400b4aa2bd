/** Every kernel descriptor, for the descriptor/WGSL sync test and for ahead-of-time compilation. */
import type { KernelDescriptor } from '../runtime/kernel.js';
import { addKernel } from './add.js';
import { calibCandidateErrorsKernel } from './calib-candidate-errors.js';
import { calibLinearWeightLossKernel } from './calib-linear-weight-loss.js';
import { calibMatmulLossKernel } from './calib-matmul-loss.js';
import { calibSelfLossKernel } from './calib-self-loss.js';
import { clsPoolKernel } from './cls-pool.js';
import { embedTokensKernel } from './embed-tokens.js';
import { fakeQuantKernel } from './fake-quant.js';
import { geluKernel } from './gelu.js';
import { layerNormKernel } from './layer-norm.js';
import { matmulKernel } from './matmul.js';
import { patchEmbedKernel } from './patch-embed.js';
import { reduceSumKernel } from './reduce-sum.js';
import { rowSqDiffKernel } from './row-sq-diff.js';
import { softmaxKernel } from './softmax.js';

export const ALL_KERNELS: readonly KernelDescriptor[] = [
  addKernel,
  calibCandidateErrorsKernel,
  calibLinearWeightLossKernel,
  calibMatmulLossKernel,
  calibSelfLossKernel,
  clsPoolKernel,
  embedTokensKernel,
  fakeQuantKernel,
  geluKernel,
  layerNormKernel,
  matmulKernel,
  patchEmbedKernel,
  reduceSumKernel,
  rowSqDiffKernel,
  softmaxKernel,
];
