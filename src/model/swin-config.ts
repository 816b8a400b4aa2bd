/**
 * Parses a timm `config.json` of a Swin Transformer (timm's `SwinTransformer`, hub layout) and works
 * out each stage's geometry the way timm's constructor does: resolutions, windows clamped to the
 * resolution, shifts on odd blocks, padding to whole windows. Pure and browser-safe. Graph options
 * other than timm's defaults are rejected rather than run wrong.
 */
import type { PreprocessConfig } from '../data/preprocess.js';
import { FimaqError } from '../util/errors.js';
import {
  type Json, architectureName, checkModelArgs, optionalObject, parseConfigJson, parseLabelNames, parseNumClasses, parsePreprocess, positiveInt, squareSize,
} from './config-fields.js';

/** One block's window geometry on its stage's resolution x resolution grid. */
export interface SwinWindowing {
  /** Window side: the configured window, or the resolution when that is smaller. */
  window: number;
  /** Cyclic shift (0 on even blocks, and wherever one window covers the grid). */
  shift: number;
  /** The grid padded to whole windows (timm pads after the shift). */
  padded: number;
  /** Windows per image: (padded / window)². */
  numWindows: number;
}

export interface SwinStage {
  /** Channels of the stage's blocks. */
  dim: number;
  /** Channels entering the stage: the previous stage's (patch merging doubles them), or dim at stage 0. */
  inDim: number;
  /** Side of the token grid the stage's blocks see (after its patch merging). */
  resolution: number;
  /** Whether the stage starts with patch merging (every stage but the first). */
  downsample: boolean;
  depth: number;
  numHeads: number;
  mlpHidden: number;
  /** Windowing of the stage's even and odd blocks. */
  windowing: [SwinWindowing, SwinWindowing];
}

export interface SwinConfig {
  architecture: string;
  family: 'swin';
  imgSize: number;
  patchSize: number;
  inChans: number;
  numClasses: number;
  embedDim: number;
  /** Configured window side (each stage clamps it to its resolution). */
  windowSize: number;
  stages: SwinStage[];
  /** Channels of the last stage: the width of the final norm and the head. */
  numFeatures: number;
  /** timm's Swin uses nn.LayerNorm's default eps 1e-5. */
  layerNormEps: number;
  /** Side of the patch grid. */
  gridSize: number;
  preprocess: PreprocessConfig;
  labelNames?: string[];
}

const ARCH_RE = /^swin_(tiny|small|base|large)_patch(\d+)_window(\d+)_(\d+)$/;
export const SWIN_SUPPORTED = 'swin_* named <tiny|small|base|large>_patch<P>_window<W>_<S>, e.g. swin_tiny_patch4_window7_224';

/** [embed_dim, depths, num_heads] of each timm Swin size. */
const SIZES: Record<string, [number, number[], number[]]> = {
  tiny: [96, [2, 2, 6, 2], [3, 6, 12, 24]],
  small: [96, [2, 2, 18, 2], [3, 6, 12, 24]],
  base: [128, [2, 2, 18, 2], [4, 8, 16, 32]],
  large: [192, [2, 2, 18, 2], [6, 12, 24, 48]],
};

const SIZE_ARGS = new Set(['img_size', 'patch_size', 'window_size', 'in_chans', 'num_classes', 'embed_dim', 'depths', 'num_heads', 'mlp_ratio']);

const TRAINING_ONLY_ARGS = new Set(['drop_rate', 'proj_drop_rate', 'attn_drop_rate', 'drop_path_rate', 'weight_init']);

/** model_args that change the graph: accepted only at timm's default. */
const GRAPH_ARGS: Record<string, (v: unknown) => boolean> = {
  global_pool: (v) => v === 'avg',
  qkv_bias: (v) => v === true,
  head_dim: (v) => v === null,
  always_partition: (v) => v === false,
  strict_img_size: (v) => v === true,
  norm_layer: (v) => v === 'layernorm',
};

function intList(v: unknown, field: string, source: string): number[] {
  if (!Array.isArray(v) || v.length === 0) throw new FimaqError(`${source}: ${field} must be a non-empty list of positive integers, got ${JSON.stringify(v)}`);
  return v.map((x) => positiveInt(x, field, source));
}

/** timm's SwinTransformerBlock._calc_window_shift, then the padding of its _attn. */
export function swinWindowing(resolution: number, window: number, shifted: boolean): SwinWindowing {
  const w = Math.min(window, resolution);
  const shift = shifted && resolution > w ? Math.floor(w / 2) : 0;
  const padded = Math.ceil(resolution / w) * w;
  return { window: w, shift, padded, numWindows: (padded / w) ** 2 };
}

/** Parses config.json text of a Swin; `source` names the file in error messages. */
export function parseSwinConfig(text: string, source: string): SwinConfig {
  const json: Json = parseConfigJson(text, source);
  const { raw, name: architecture } = architectureName(json, source);
  const match = ARCH_RE.exec(architecture);
  if (match === null) throw new FimaqError(`${source}: architecture '${raw}' is not supported (supported: ${SWIN_SUPPORTED})`);
  const modelArgs = optionalObject(json, 'model_args', source);
  const pretrained = optionalObject(json, 'pretrained_cfg', source);
  checkModelArgs(json, modelArgs, { graph: GRAPH_ARGS, sizes: SIZE_ARGS, trainingOnly: TRAINING_ONLY_ARGS, graphName: "timm's default Swin graph" }, source);

  const [sizeDim, sizeDepths, sizeHeads] = SIZES[match[1]!]!;
  const imgSize = squareSize(modelArgs.img_size ?? Number(match[4]), 'model_args.img_size', source);
  const patchSize = squareSize(modelArgs.patch_size ?? Number(match[2]), 'model_args.patch_size', source);
  const windowSize = squareSize(modelArgs.window_size ?? Number(match[3]), 'model_args.window_size', source);
  const inChans = positiveInt(modelArgs.in_chans ?? 3, 'model_args.in_chans', source);
  const embedDim = positiveInt(modelArgs.embed_dim ?? sizeDim, 'model_args.embed_dim', source);
  const depths = intList(modelArgs.depths ?? sizeDepths, 'model_args.depths', source);
  const heads = intList(modelArgs.num_heads ?? sizeHeads, 'model_args.num_heads', source);
  if (heads.length !== depths.length) {
    throw new FimaqError(`${source}: model_args.num_heads has ${heads.length} entries but depths has ${depths.length}`);
  }
  const numClasses = parseNumClasses(json, modelArgs, pretrained, source);
  const mlpRatio = modelArgs.mlp_ratio ?? 4;
  if (typeof mlpRatio !== 'number' || !Number.isFinite(mlpRatio) || mlpRatio <= 0) {
    throw new FimaqError(`${source}: model_args.mlp_ratio must be a positive number (one for all stages), got ${JSON.stringify(mlpRatio)}`);
  }
  if (imgSize % patchSize !== 0) throw new FimaqError(`${source}: img_size ${imgSize} is not divisible by patch_size ${patchSize}`);
  const gridSize = imgSize / patchSize;

  const stages: SwinStage[] = [];
  let resolution = gridSize;
  for (let i = 0; i < depths.length; i++) {
    const dim = embedDim * 2 ** i;
    if (i > 0) {
      // timm's PatchMerging pads an odd grid, but its blocks are built for the floored size: the shapes disagree.
      if (resolution % 2 !== 0) {
        throw new FimaqError(`${source}: stage ${i} merges a ${resolution}x${resolution} grid; only even grids can be merged (img_size / patch_size / 2^${i - 1} must be even)`);
      }
      resolution /= 2;
    }
    if (dim % heads[i]! !== 0) throw new FimaqError(`${source}: stage ${i} width ${dim} is not divisible by its ${heads[i]} heads`);
    const mlpHidden = Math.floor(dim * mlpRatio);
    if (mlpHidden < 1) throw new FimaqError(`${source}: model_args.mlp_ratio ${mlpRatio} gives an empty MLP`);
    stages.push({
      dim,
      inDim: i === 0 ? dim : dim / 2,
      resolution,
      downsample: i > 0,
      depth: depths[i]!,
      numHeads: heads[i]!,
      mlpHidden,
      windowing: [swinWindowing(resolution, windowSize, false), swinWindowing(resolution, windowSize, true)],
    });
  }
  const numFeatures = stages[stages.length - 1]!.dim;
  if (json.num_features !== undefined && json.num_features !== numFeatures) {
    throw new FimaqError(`${source}: num_features ${JSON.stringify(json.num_features)} does not match the last stage's width ${numFeatures}`);
  }
  const config: SwinConfig = {
    architecture,
    family: 'swin',
    imgSize,
    patchSize,
    inChans,
    numClasses,
    embedDim,
    windowSize,
    stages,
    numFeatures,
    layerNormEps: 1e-5,
    gridSize,
    preprocess: parsePreprocess(pretrained, 'swin', inChans, imgSize, source),
  };
  const labelNames = parseLabelNames(json, pretrained, numClasses, source);
  if (labelNames !== undefined) config.labelNames = labelNames;
  return config;
}

/** Every block in model order: its stage, its index in the stage, and its name (layers.{i}.blocks.{j}). */
export function swinBlocks(cfg: SwinConfig): { stage: number; index: number; name: string }[] {
  return cfg.stages.flatMap((s, i) => Array.from({ length: s.depth }, (_, j) => ({ stage: i, index: j, name: `layers.${i}.blocks.${j}` })));
}

/** A Swin's layers between the patch embedding and the head, in forward order: each stage's patch merging, then its blocks. */
export type SwinStep = { kind: 'merge'; stage: number; name: string } | { kind: 'block'; stage: number; index: number; name: string };

export function swinSteps(cfg: SwinConfig): SwinStep[] {
  return cfg.stages.flatMap((s, i): SwinStep[] => [
    ...(s.downsample ? [{ kind: 'merge' as const, stage: i, name: `layers.${i}.downsample` }] : []),
    ...Array.from({ length: s.depth }, (_, j) => ({ kind: 'block' as const, stage: i, index: j, name: `layers.${i}.blocks.${j}` })),
  ]);
}
