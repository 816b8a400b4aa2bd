/**
 * Parses a timm `config.json` (as pushed to the Hugging Face hub) for the plain ViT / DeiT graphs
 * this engine implements. Pure and browser-safe. Anything that would change the graph away from
 * the standard pre-norm ViT with a class token is rejected rather than silently run wrong.
 */
import type { PreprocessConfig } from '../data/preprocess.js';
import { FimaqError } from '../util/errors.js';
import {
  type Json, architectureName, checkModelArgs, optionalObject, parseConfigJson, parseLabelNames, parseNumClasses, parsePreprocess, positiveInt, squareSize,
} from './config-fields.js';
import { SWIN_SUPPORTED } from './swin-config.js';

export interface VitConfig {
  architecture: string;
  family: 'vit' | 'deit';
  imgSize: number;
  patchSize: number;
  inChans: number;
  numClasses: number;
  embedDim: number;
  depth: number;
  numHeads: number;
  mlpHidden: number;
  /** timm ViTs use LayerNorm(eps=1e-6). */
  layerNormEps: number;
  numPatches: number;
  /** Patches plus the class token. */
  numTokens: number;
  preprocess: PreprocessConfig;
  labelNames?: string[];
}

const ARCH_RE = /^(vit|deit)_(tiny|small|base|large)_patch(\d+)_(\d+)$/;
const SUPPORTED = `supported: vit_* and deit_* named <tiny|small|base|large>_patch<P>_<S>, e.g. vit_base_patch16_224; ${SWIN_SUPPORTED}`;

/** [embed_dim, depth, num_heads] of each timm model size. */
const SIZES: Record<string, [number, number, number]> = {
  tiny: [192, 12, 3],
  small: [384, 12, 6],
  base: [768, 12, 12],
  large: [1024, 24, 16],
};

/** model_args that set the sizes read below. */
const SIZE_ARGS = new Set(['img_size', 'patch_size', 'in_chans', 'num_classes', 'embed_dim', 'depth', 'num_heads', 'mlp_ratio']);

/** model_args that only affect training (dropout, init), so they are safe to ignore. */
const TRAINING_ONLY_ARGS = new Set([
  'drop_rate', 'pos_drop_rate', 'patch_drop_rate', 'proj_drop_rate', 'attn_drop_rate', 'drop_path_rate', 'weight_init',
]);

/** model_args that change the graph: accepted only at the value the standard ViT uses. */
const GRAPH_ARGS: Record<string, (v: unknown) => boolean> = {
  class_token: (v) => v === true,
  global_pool: (v) => v === 'token' || v === '',
  no_embed_class: (v) => v === false,
  qkv_bias: (v) => v === true,
  qk_norm: (v) => v === false,
  proj_bias: (v) => v === true,
  fc_norm: (v) => v === false || v === null,
  final_norm: (v) => v === true,
  pre_norm: (v) => v === false,
  init_values: (v) => v === null,
  reg_tokens: (v) => v === 0,
  pos_embed: (v) => v === 'learn',
  dynamic_img_size: (v) => v === false,
  dynamic_img_pad: (v) => v === false,
};

function parseArchitecture(json: Json, source: string): { architecture: string; family: 'vit' | 'deit'; match: RegExpExecArray } {
  const { raw, name: architecture } = architectureName(json, source);
  if (architecture.includes('distilled')) {
    throw new FimaqError(`${source}: architecture '${raw}' is not supported: distilled models have an extra distillation token and head (${SUPPORTED})`);
  }
  const match = ARCH_RE.exec(architecture);
  if (match === null) throw new FimaqError(`${source}: architecture '${raw}' is not supported (${SUPPORTED})`);
  return { architecture, family: match[1] as 'vit' | 'deit', match };
}

/** Parses config.json text; `source` names the file in error messages. */
export function parseVitConfig(text: string, source: string): VitConfig {
  const json = parseConfigJson(text, source);

  const { architecture, family, match } = parseArchitecture(json, source);
  const modelArgs = optionalObject(json, 'model_args', source);
  const pretrained = optionalObject(json, 'pretrained_cfg', source);

  checkModelArgs(json, modelArgs, { graph: GRAPH_ARGS, sizes: SIZE_ARGS, trainingOnly: TRAINING_ONLY_ARGS, graphName: 'the standard ViT/DeiT graph' }, source);

  const [sizeDim, sizeDepth, sizeHeads] = SIZES[match[2]!]!;
  const imgSize = squareSize(modelArgs.img_size ?? Number(match[4]), 'model_args.img_size', source);
  const patchSize = squareSize(modelArgs.patch_size ?? Number(match[3]), 'model_args.patch_size', source);
  const inChans = positiveInt(modelArgs.in_chans ?? 3, 'model_args.in_chans', source);
  const embedDim = positiveInt(modelArgs.embed_dim ?? sizeDim, 'model_args.embed_dim', source);
  const depth = positiveInt(modelArgs.depth ?? sizeDepth, 'model_args.depth', source);
  const numHeads = positiveInt(modelArgs.num_heads ?? sizeHeads, 'model_args.num_heads', source);
  const numClasses = parseNumClasses(json, modelArgs, pretrained, source);

  const mlpRatio = modelArgs.mlp_ratio ?? 4;
  if (typeof mlpRatio !== 'number' || !Number.isFinite(mlpRatio) || mlpRatio <= 0) {
    throw new FimaqError(`${source}: model_args.mlp_ratio must be a positive number, got ${JSON.stringify(mlpRatio)}`);
  }
  const mlpHidden = Math.floor(embedDim * mlpRatio); // timm: int(dim * mlp_ratio)
  if (mlpHidden < 1) throw new FimaqError(`${source}: model_args.mlp_ratio ${mlpRatio} gives an empty MLP for embed_dim ${embedDim}`);

  if (embedDim % numHeads !== 0) {
    throw new FimaqError(`${source}: embed_dim ${embedDim} is not divisible by num_heads ${numHeads}`);
  }
  if (imgSize % patchSize !== 0) {
    throw new FimaqError(`${source}: img_size ${imgSize} is not divisible by patch_size ${patchSize}`);
  }
  if (json.num_features !== undefined && json.num_features !== embedDim) {
    throw new FimaqError(`${source}: num_features ${JSON.stringify(json.num_features)} does not match embed_dim ${embedDim}`);
  }

  const numPatches = (imgSize / patchSize) ** 2;
  const config: VitConfig = {
    architecture,
    family,
    imgSize,
    patchSize,
    inChans,
    numClasses,
    embedDim,
    depth,
    numHeads,
    mlpHidden,
    layerNormEps: 1e-6,
    numPatches,
    numTokens: numPatches + 1,
    preprocess: parsePreprocess(pretrained, family, inChans, imgSize, source),
  };
  const labelNames = parseLabelNames(json, pretrained, numClasses, source);
  if (labelNames !== undefined) config.labelNames = labelNames;
  return config;
}
