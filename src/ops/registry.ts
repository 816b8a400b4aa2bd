/** Every kernel descriptor, for the descriptor/WGSL sync test and for ahead-of-time compilation. */
import type { KernelDescriptor } from '../runtime/kernel.js';
import { absAccumulateKernel } from './abs-accumulate.js';
import { absDiffKernel } from './abs-diff.js';
import { adamKernel } from './adam.js';
import { adaroundBackwardKernel } from './adaround-backward.js';
import { adaroundInitKernel } from './adaround-init.js';
import { adaroundWeightKernel } from './adaround-weight.js';
import { addKernel } from './add.js';
import { attentionBiasKernel } from './attention-bias.js';
import { calibCandidateErrorsKernel } from './calib-candidate-errors.js';
import { calibLinearWeightLossKernel } from './calib-linear-weight-loss.js';
import { calibMatmulLossKernel } from './calib-matmul-loss.js';
import { calibSelfLossKernel } from './calib-self-loss.js';
import { clsPoolKernel } from './cls-pool.js';
import { clsPoolBackwardKernel } from './cls-pool-backward.js';
import { dplrGradKernel } from './dplr-grad.js';
import { dplrLossKernel } from './dplr-loss.js';
import { eigFimGradKernel } from './eig-fim-grad.js';
import { embedTokensKernel } from './embed-tokens.js';
import { fakeQuantKernel } from './fake-quant.js';
import { fakeQuantBackwardKernel } from './fake-quant-backward.js';
import { fakeQuantScaleGradKernel } from './fake-quant-scale-grad.js';
import { fakeQuantTrainKernel } from './fake-quant-train.js';
import { gatherRowsKernel } from './gather-rows.js';
import { geluKernel } from './gelu.js';
import { geluBackwardKernel } from './gelu-backward.js';
import { intLinearKernel } from './int-linear.js';
import { intMatmulKernel } from './int-matmul.js';
import { klGradKernel } from './kl-grad.js';
import { klLossKernel } from './kl-loss.js';
import { im2colKernel } from './im2col.js';
import { layerNormKernel } from './layer-norm.js';
import { layerNormBackwardKernel } from './layer-norm-backward.js';
import { matmulKernel } from './matmul.js';
import { matmulTextureKernel } from './matmul-texture.js';
import { meanPoolKernel } from './mean-pool.js';
import { meanPoolBackwardKernel } from './mean-pool-backward.js';
import { mseGradKernel } from './mse-grad.js';
import { mseLossKernel } from './mse-loss.js';
import { packedWeightLinearKernel } from './packed-weight-linear.js';
import { patchEmbedKernel } from './patch-embed.js';
import { projectRowsKernel } from './project-rows.js';
import { qdropMixKernel } from './qdrop-mix.js';
import { quantizeCodesKernel } from './quantize-codes.js';
import { randomUniformKernel } from './random-uniform.js';
import { reducePartialsKernel } from './reduce-partials.js';
import { reduceSumKernel } from './reduce-sum.js';
import { rowSqDiffKernel } from './row-sq-diff.js';
import { sampleIndicesKernel } from './sample-indices.js';
import { softmaxKernel } from './softmax.js';
import { softmaxBackwardKernel } from './softmax-backward.js';
import { sumSlicesKernel } from './sum-slices.js';
import { tokenGatherKernel } from './token-gather.js';
import { transposeKernel } from './transpose.js';

export const ALL_KERNELS: readonly KernelDescriptor[] = [
  absAccumulateKernel,
  absDiffKernel,
  adamKernel,
  adaroundBackwardKernel,
  adaroundInitKernel,
  adaroundWeightKernel,
  addKernel,
  attentionBiasKernel,
  calibCandidateErrorsKernel,
  calibLinearWeightLossKernel,
  calibMatmulLossKernel,
  calibSelfLossKernel,
  clsPoolKernel,
  clsPoolBackwardKernel,
  dplrGradKernel,
  dplrLossKernel,
  eigFimGradKernel,
  embedTokensKernel,
  fakeQuantKernel,
  fakeQuantBackwardKernel,
  fakeQuantScaleGradKernel,
  fakeQuantTrainKernel,
  gatherRowsKernel,
  geluKernel,
  geluBackwardKernel,
  intLinearKernel,
  intMatmulKernel,
  klGradKernel,
  klLossKernel,
  im2colKernel,
  layerNormKernel,
  layerNormBackwardKernel,
  matmulKernel,
  matmulTextureKernel,
  meanPoolKernel,
  meanPoolBackwardKernel,
  transposeKernel,
  mseGradKernel,
  mseLossKernel,
  packedWeightLinearKernel,
  patchEmbedKernel,
  projectRowsKernel,
  qdropMixKernel,
  quantizeCodesKernel,
  randomUniformKernel,
  reducePartialsKernel,
  reduceSumKernel,
  rowSqDiffKernel,
  sampleIndicesKernel,
  softmaxKernel,
  softmaxBackwardKernel,
  sumSlicesKernel,
  tokenGatherKernel,
];
