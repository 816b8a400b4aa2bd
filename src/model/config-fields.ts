/**
 * The fields of a timm `config.json` that every supported architecture reads alike: sizes, class
 * count, preprocessing and label names. Pure and browser-safe; each error names the file and field.
 */
import type { PreprocessConfig } from '../data/preprocess.js';
import { FimaqError } from '../util/errors.js';

/** vit: mean/std 0.5 by default; deit and swin: ImageNet's. */
export type ModelFamily = 'vit' | 'deit' | 'swin';

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];
const INTERPOLATIONS = ['bicubic', 'bilinear', 'nearest'] as const;

export type Json = Record<string, unknown>;

export function isObject(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export function positiveInt(v: unknown, field: string, source: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
    throw new FimaqError(`${source}: ${field} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** timm accepts img_size / patch_size as an int or an [h, w] pair; only squares are supported. */
export function squareSize(v: unknown, field: string, source: string): number {
  if (Array.isArray(v)) {
    if (v.length !== 2 || v[0] !== v[1]) {
      throw new FimaqError(`${source}: ${field} ${JSON.stringify(v)} is not supported (only square sizes)`);
    }
    return positiveInt(v[0], field, source);
  }
  return positiveInt(v, field, source);
}

export function numberList(v: unknown, len: number, field: string, source: string, positive: boolean): number[] {
  if (!Array.isArray(v) || v.length !== len || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0))) {
    const what = positive ? 'positive numbers' : 'numbers';
    throw new FimaqError(`${source}: ${field} must be a list of ${len} ${what}, got ${JSON.stringify(v)}`);
  }
  return v as number[];
}

export function optionalObject(json: Json, field: string, source: string): Json {
  const v = json[field];
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw new FimaqError(`${source}: ${field} must be an object`);
  return v;
}

export function parseNumClasses(json: Json, modelArgs: Json, pretrained: Json, source: string): number {
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

export function parsePreprocess(pretrained: Json, family: ModelFamily, inChans: number, imgSize: number, source: string): PreprocessConfig {
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
    throw new FimaqError(`${source}: pretrained_cfg.${field} is required for a ${family} model with ${inChans} input channels`);
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

export function parseLabelNames(json: Json, pretrained: Json, numClasses: number, source: string): string[] | undefined {
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

/** config.json text as a JSON object. */
export function parseConfigJson(text: string, source: string): Json {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FimaqError(`${source}: not valid JSON (${(e as Error).message.replace(/\s*\n\s*/g, ' ')})`);
  }
  if (!isObject(json)) throw new FimaqError(`${source}: top level must be a JSON object`);
  return json;
}

/**
 * The architecture as written (`raw`) and without timm's pretrained tag (`name`):
 * vit_base_patch16_224.augreg_in21k_ft_in1k names vit_base_patch16_224.
 */
export function architectureName(json: Json, source: string): { raw: string; name: string } {
  const raw = json.architecture;
  if (raw === undefined) {
    const hint = 'architectures' in json ? ' (this looks like a transformers config; only timm configs are supported)' : '';
    throw new FimaqError(`${source}: architecture is missing${hint}`);
  }
  if (typeof raw !== 'string') throw new FimaqError(`${source}: architecture must be a string, got ${JSON.stringify(raw)}`);
  return { raw, name: raw.split('.')[0]! };
}

/** What a graph accepts in model_args: graph options only at the values it implements, its sizes, and options of training only. */
export interface ModelArgRules {
  graph: Record<string, (v: unknown) => boolean>;
  sizes: ReadonlySet<string>;
  trainingOnly: ReadonlySet<string>;
  /** Names the graph in the error, e.g. "the standard ViT/DeiT graph". */
  graphName: string;
}

/** Refuses a model_args key the graph does not know, and a graph option (also the top-level global_pool) at another value. */
export function checkModelArgs(json: Json, modelArgs: Json, rules: ModelArgRules, source: string): void {
  const check = (key: string, value: unknown, field: string) => {
    if (!rules.graph[key]!(value)) throw new FimaqError(`${source}: ${field}=${JSON.stringify(value)} is not supported (only ${rules.graphName})`);
  };
  for (const [key, value] of Object.entries(modelArgs)) {
    if (key in rules.graph) check(key, value, `model_args.${key}`);
    else if (!rules.sizes.has(key) && !rules.trainingOnly.has(key)) throw new FimaqError(`${source}: model_args.${key} is not supported`);
  }
  // timm also records the pooling at the top level.
  if (json.global_pool !== undefined) check('global_pool', json.global_pool, 'global_pool');
}
