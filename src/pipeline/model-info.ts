/**
 * What `fimaq info` prints and the web app shows about a model: architecture, size, cost, the
 * GPU memory quantization needs, and whether that fits an adapter's limits.
 */
import type { VitConfig } from '../model/config.js';
import type { ModelConfig } from '../model/model-config.js';
import type { SwinConfig } from '../model/swin-config.js';
import { swinForwardFlops, swinParameterCount } from '../model/swin.js';
import { forwardFlops, parameterCount } from '../model/vit.js';
import { calibrationMemory, type PhasePeak } from '../quant/memory.js';
import type { FisherSettings } from '../recon/losses.js';
import { reconMemory } from '../recon/memory.js';
import type { ReconSettings } from '../recon/settings.js';
import { type Method, isReconMethod } from './methods.js';

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
  /** GPU memory of the quantize run modelInfo was asked about. */
  memory: RunMemory;
  preprocess: VitConfig['preprocess'];
  label_names: string[] | null;
}

/** GPU memory of a quantize run, per phase; the run's peak is the larger. */
export interface RunMemory {
  method: Method;
  search_images: number;
  calibration_images: number;
  batch: number;
  peak_bytes: number;
  /** The largest single buffer, which must fit maxStorageBufferBindingSize. */
  largest_buffer_bytes: number;
  calibration: PhasePeak;
  reconstruction: PhasePeak | null;
}

export interface RunShape {
  method: Method;
  wbits: number;
  abits: number;
  /** Calibration images (for reconstruction methods; calibration methods search on all of them). */
  images: number;
  settings?: ReconSettings;
  fisher?: FisherSettings;
  /** The largest storage binding (the context's maxBindingBytes), which splits calibration captures and reconstruction caches. */
  chunkBytes?: number;
}

/**
 * The GPU memory a quantize run of `shape` allocates at its peak (buffers in use and pooled), as
 * the runtime's allocation counter measures it (src/runtime/buffer-pool.ts).
 */
export function runMemory(c: ModelConfig, shape: RunShape): RunMemory {
  const { method } = shape;
  // Calibration-only methods search with their own defaults, whatever settings come along.
  const settings = isReconMethod(method) ? shape.settings : undefined;
  if (isReconMethod(method) && !settings) throw new Error(`runMemory: ${method} needs reconstruction settings`);
  const searchImages = settings ? Math.min(settings.searchSize, shape.images) : shape.images;
  const search = method !== 'rtn';
  const calibration = calibrationMemory(c, { images: searchImages, eqN: settings?.searchCandidates ?? 128, search, reparam: search && shape.wbits === shape.abits, chunkBytes: shape.chunkBytes });
  const reconstruction =
    settings && isReconMethod(method) ? reconMemory(c, { images: shape.images, batch: settings.batch, method, rank: shape.fisher?.k ?? 0, chunkBytes: shape.chunkBytes }) : null;
  return {
    method,
    search_images: searchImages,
    calibration_images: shape.images,
    batch: settings?.batch ?? 0,
    peak_bytes: Math.max(calibration.peakBytes, reconstruction?.peakBytes ?? 0),
    largest_buffer_bytes: Math.max(calibration.largestBufferBytes, reconstruction?.largestBufferBytes ?? 0),
    calibration,
    reconstruction,
  };
}

export function modelInfo(c: VitConfig, memory: RunShape): ModelInfo {
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
    memory: runMemory(c, memory),
    preprocess: c.preprocess,
    label_names: c.labelNames ?? null,
  };
}

export interface SwinStageInfo {
  resolution: number;
  dim: number;
  depth: number;
  num_heads: number;
  mlp_hidden: number;
  /** Window side, windows per image and padded grid side (alike in every block), and the odd blocks' cyclic shift (even blocks do not shift). */
  window: number;
  windows: number;
  shift: number;
  padded: number;
  patch_merging: boolean;
}

export interface SwinModelInfo {
  architecture: string;
  family: 'swin';
  img_size: number;
  patch_size: number;
  window_size: number;
  in_chans: number;
  embed_dim: number;
  stages: SwinStageInfo[];
  num_features: number;
  num_classes: number;
  parameters: number;
  flops_per_image: number;
  /** GPU memory of the quantize run swinModelInfo was asked about. */
  memory: RunMemory;
  preprocess: SwinConfig['preprocess'];
  label_names: string[] | null;
}

export function swinModelInfo(c: SwinConfig, memory: RunShape): SwinModelInfo {
  return {
    architecture: c.architecture,
    family: c.family,
    img_size: c.imgSize,
    patch_size: c.patchSize,
    window_size: c.windowSize,
    in_chans: c.inChans,
    embed_dim: c.embedDim,
    stages: c.stages.map((s) => ({
      resolution: s.resolution,
      dim: s.dim,
      depth: s.depth,
      num_heads: s.numHeads,
      mlp_hidden: s.mlpHidden,
      window: s.windowing[1].window,
      windows: s.windowing[1].numWindows,
      shift: s.windowing[1].shift,
      padded: s.windowing[1].padded,
      patch_merging: s.downsample,
    })),
    num_features: c.numFeatures,
    num_classes: c.numClasses,
    parameters: swinParameterCount(c),
    flops_per_image: swinForwardFlops(c),
    memory: runMemory(c, memory),
    preprocess: c.preprocess,
    label_names: c.labelNames ?? null,
  };
}

/** Where a run's memory peaks, e.g. "reconstruction, blocks.0 Fisher pass". */
export function memoryPeakPhase(m: RunMemory): string {
  return m.reconstruction && m.reconstruction.peakBytes >= m.calibration.peakBytes ? `reconstruction, ${m.reconstruction.peakAt}` : `calibration, ${m.calibration.peakAt}`;
}

/**
 * Why a run of this memory will not fit an adapter with these limits, one reason per line; empty
 * when it fits. WebGPU does not tell how much memory an adapter has, so the total is checked
 * against `budgetBytes` when the user gives one (--gpu-memory); a single buffer must fit both
 * maxBufferSize and maxStorageBufferBindingSize.
 */
export function memoryFitProblems(m: RunMemory, limits: { maxBufferSize: number; maxStorageBufferBindingSize: number }, budgetBytes?: number): string[] {
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  const problems: string[] = [];
  const phase = m.reconstruction && m.reconstruction.largestBufferBytes >= m.calibration.largestBufferBytes ? m.reconstruction : m.calibration;
  const binding = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
  if (m.largest_buffer_bytes > binding) {
    problems.push(`the run needs a ${mib(m.largest_buffer_bytes)} buffer (${phase === m.calibration ? 'calibration search' : 'reconstruction'}), above this adapter's largest storage binding (${mib(binding)}): use fewer search images or a smaller batch`);
  }
  if (budgetBytes !== undefined && m.peak_bytes > budgetBytes) {
    problems.push(`the run needs about ${mib(m.peak_bytes)} of GPU memory at its peak (${memoryPeakPhase(m)}), above the ${mib(budgetBytes)} given: use fewer calibration or search images, or a smaller batch`);
  }
  return problems;
}
