/**
 * Parses a timm `config.json` (as pushed to the Hugging Face hub) for the plain ViT / DeiT graphs
 * this engine implements. Pure and browser-safe. Anything that would change the graph away from
 * the standard pre-norm ViT with a class token is rejected rather than silently run wrong.
 */
import type { PreprocessConfig } from '../data/preprocess.js';
import { FimaqError } from '../util/errors.js';

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
const SUPPORTED = 'supported: vit_* and deit_* named <tiny|small|base|large>_patch<P>_<S>, e.g. vit_base_patch16_224';

/** [embed_dim, depth, num_heads] of each timm model size. */
const SIZES: Record<string, [number, number, number]> = {
  tiny: [192, 12, 3],
  small: [384, 12, 6],
  base: [768, 12, 12],
  large: [1024, 24, 16],
};

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];
const INTERPOLATIONS = ['bicubic', 'bilinear', 'nearest'] as const;

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

type Json = Record<string, unknown>;

function isObject(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function positiveInt(v: unknown, field: string, source: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
    throw new FimaqError(`${source}: ${field} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** timm accepts img_size / patch_size as an int or an [h, w] pair; only squares are supported. */
function squareSize(v: unknown, field: string, source: string): number {
  if (Array.isArray(v)) {
    if (v.length !== 2 || v[0] !== v[1]) {
      throw new FimaqError(`${source}: ${field} ${JSON.stringify(v)} is not supported (only square sizes)`);
    }
    return positiveInt(v[0], field, source);
  }
  return positiveInt(v, field, source);
}

function numberList(v: unknown, len: number, field: string, source: string, positive: boolean): number[] {
  if (!Array.isArray(v) || v.length !== len || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0))) {
    const what = positive ? 'positive numbers' : 'numbers';
    throw new FimaqError(`${source}: ${field} must be a list of ${len} ${what}, got ${JSON.stringify(v)}`);
  }
  return v as number[];
}

function optionalObject(json: Json, field: string, source: string): Json {
  const v = json[field];
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw new FimaqError(`${source}: ${field} must be an object`);
  return v;
}

function checkGraphArg(key: string, value: unknown, field: string, source: string): void {
  if (!GRAPH_ARGS[key]!(value)) {
    throw new FimaqError(`${source}: ${field}=${JSON.stringify(value)} is not supported (only the standard ViT/DeiT graph)`);
  }
}

function parseArchitecture(json: Json, source: string): { architecture: string; family: 'vit' | 'deit'; match: RegExpExecArray } {
  const raw = json.architecture;
  if (raw === undefined) {
    const hint = 'architectures' in json ? ' (this looks like a transformers config; only timm configs are supported)' : '';
    throw new FimaqError(`${source}: architecture is missing${hint}`);
  }
  if (typeof raw !== 'string') throw new FimaqError(`${source}: architecture must be a string, got ${JSON.stringify(raw)}`);
  // timm names may carry a pretrained tag, e.g. vit_base_patch16_224.augreg_in21k_ft_in1k.
  const architecture = raw.split('.')[0]!;
  if (architecture.includes('distilled')) {
    throw new FimaqError(`${source}: architecture '${raw}' is not supported: distilled models have an extra distillation token and head (${SUPPORTED})`);
  }
  const match = ARCH_RE.exec(architecture);
  if (match === null) throw new FimaqError(`${source}: architecture '${raw}' is not supported (${SUPPORTED})`);
  return { architecture, family: match[1] as 'vit' | 'deit', match };
}

function parseNumClasses(json: Json, modelArgs: Json, pretrained: Json, source: string): number {
  const top = json.num_classes;
  const arg = modelArgs.num_classes;
  if (top !== undefined && arg !== undefined && top !== arg) {
    throw new FimaqError(`${source}: num_classes ${JSON.stringify(top)} conflicts with model_args.num_classes ${JSON.stringify(arg)}`);
  }
  if (arg !== undefined) return positiveInt(arg, 'model_args.num_classes', source);
  if (top !== undefined) return positiveInt(top, 'num_classes', source);
  // timm creates the model with the pretrained head size when nothing overrides it.
  if (pretrained.num_classes !== undefined) return positiveInt(pretrained.num_classes, 'pretrained_cfg.num_classes', source);
  return 1000;
}

function parsePreprocess(pretrained: Json, family: 'vit' | 'deit', inChans: number, imgSize: number, source: string): PreprocessConfig {
  let inputSize: [number, number, number] = [inChans, imgSize, imgSize];
  if (pretrained.input_size !== undefined) {
    const v = pretrained.input_size;
    if (!Array.isArray(v) || v.length !== 3) {
      throw new FimaqError(`${source}: pretrained_cfg.input_size must be [C, H, W], got ${JSON.stringify(v)}`);
    }
    const size = v.map((x) => positiveInt(x, 'pretrained_cfg.input_size', source)) as [number, number, number];
    // The graph has a fixed token count, so images must be resized to exactly the model input.
    if (size[0] !== inChans || size[1] !== imgSize || size[2] !== imgSize) {
      throw new FimaqError(
        `${source}: pretrained_cfg.input_size ${JSON.stringify(size)} does not match the model input [${inChans}, ${imgSize}, ${imgSize}]`,
      );
    }
    inputSize = size;
  }

  const defaults = (values: number[], field: string): number[] => {
    if (family === 'vit') return new Array<number>(inChans).fill(0.5);
    if (inChans === 3) return values;
    if (inChans === 1) return [values[0]!];
    throw new FimaqError(`${source}: pretrained_cfg.${field} is required for a deit model with ${inChans} input channels`);
  };
  const mean =
    pretrained.mean === undefined ? defaults(IMAGENET_MEAN, 'mean') : numberList(pretrained.mean, inChans, 'pretrained_cfg.mean', source, false);
  const std =
    pretrained.std === undefined ? defaults(IMAGENET_STD, 'std') : numberList(pretrained.std, inChans, 'pretrained_cfg.std', source, true);

  const interpolation = pretrained.interpolation ?? 'bicubic';
  if (!(INTERPOLATIONS as readonly unknown[]).includes(interpolation)) {
    throw new FimaqError(
      `${source}: pretrained_cfg.interpolation ${JSON.stringify(interpolation)} is not supported (supported: ${INTERPOLATIONS.join(', ')})`,
    );
  }

  const cropPct = pretrained.crop_pct ?? 0.9;
  if (typeof cropPct !== 'number' || !(cropPct > 0 && cropPct <= 1)) {
    throw new FimaqError(`${source}: pretrained_cfg.crop_pct must be a number in (0, 1], got ${JSON.stringify(cropPct)}`);
  }
  // Preprocessing always resizes and center-crops; timm's 'squash' / 'border' modes would differ.
  if (pretrained.crop_mode !== undefined && pretrained.crop_mode !== 'center') {
    throw new FimaqError(`${source}: pretrained_cfg.crop_mode ${JSON.stringify(pretrained.crop_mode)} is not supported (only 'center')`);
  }

  return { inputSize, mean, std, interpolation: interpolation as PreprocessConfig['interpolation'], cropPct };
}

function parseLabelNames(json: Json, pretrained: Json, numClasses: number, source: string): string[] | undefined {
  // timm keeps label_names at the top level of config.json and moves them into pretrained_cfg on load.
  const field = pretrained.label_names !== undefined ? 'pretrained_cfg.label_names' : 'label_names';
  const v = pretrained.label_names ?? json.label_names;
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw new FimaqError(`${source}: ${field} must be a list of strings`);
  }
  if (v.length !== numClasses) {
    throw new FimaqError(`${source}: ${field} has ${v.length} names but the model has ${numClasses} classes`);
  }
  return v as string[];
}

/** Parses config.json text; `source` names the file in error messages. */
export function parseVitConfig(text: string, source: string): VitConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FimaqError(`${source}: not valid JSON (${(e as Error).message.replace(/\s*\n\s*/g, ' ')})`);
  }
  if (!isObject(json)) throw new FimaqError(`${source}: top level must be a JSON object`);

  const { architecture, family, match } = parseArchitecture(json, source);
  const modelArgs = optionalObject(json, 'model_args', source);
  const pretrained = optionalObject(json, 'pretrained_cfg', source);

  for (const [key, value] of Object.entries(modelArgs)) {
    if (key in GRAPH_ARGS) checkGraphArg(key, value, `model_args.${key}`, source);
    else if (!SIZE_ARGS.has(key) && !TRAINING_ONLY_ARGS.has(key)) {
      throw new FimaqError(`${source}: model_args.${key} is not supported`);
    }
  }
  // timm also records the pooling at the top level.
  if (json.global_pool !== undefined) checkGraphArg('global_pool', json.global_pool, 'global_pool', source);

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
