/**
 * A quantized ViT as plain host data: what calibration and reconstruction produce, what the
 * quantized-model file stores (src/io/quantized-file.ts), and what fake-quant evaluation and the
 * integer pipeline consume. Granularities follow ../shared/docs/fimaq-method.md §3.3.
 */
import type { VitConfig } from '../model/config.js';
import { type SwinConfig, swinBlocks } from '../model/swin-config.js';
import { FimaqError } from '../util/errors.js';

/** Per-output-channel weight quantizer with its integer codes (after rounding is final). */
export interface WeightQuant {
  bits: number;
  rows: number;
  cols: number;
  /** [rows] */
  scale: Float32Array;
  /** [rows], integers in [0, 2^bits - 1] */
  zeroPoint: Int32Array;
  /** [rows * cols], integers in [0, 2^bits - 1]; the weight is (code - zeroPoint[row]) * scale[row]. */
  codes: Uint8Array;
}

/** An activation quantizer: `scale` and `zeroPoint` laid out as `scaleShape` / `zeroPointShape`. */
export interface ActivationQuant {
  bits: number;
  scale: Float32Array;
  scaleShape: number[];
  /** Integer-valued (frozen during reconstruction). */
  zeroPoint: Float32Array;
  zeroPointShape: number[];
}

/** A linear's weight and the quantizer of its input. */
export interface LinearQuant {
  weight: WeightQuant;
  input: ActivationQuant;
}

/**
 * Quantizers of one transformer block (T tokens, H heads, hd = D / H). In a Swin block, T of qkv,
 * proj, q, k and the map is the window's N positions (shared by all windows), T of fc1 and fc2
 * the stage's R² grid positions.
 */
export interface BlockQuant {
  qkv: { weight: WeightQuant; input: ActivationQuant /* scale [T], zp [1] */ };
  proj: { weight: WeightQuant; input: ActivationQuant /* scale [T], zp [1] */ };
  fc1: { weight: WeightQuant; input: ActivationQuant /* scale [T], zp [1] */ };
  fc2: { weight: WeightQuant; input: ActivationQuant /* scale [T], zp [1] */ };
  q: ActivationQuant /* scale [H, T], zp [H] */;
  k: ActivationQuant /* scale [H, T], zp [H] */;
  v: ActivationQuant /* scale [H, hd], zp [H] */;
  attn: ActivationQuant /* post-softmax map: scale [H, T], zp [H] */;
}

export interface QuantizationInfo {
  method: string;
  wbits: number;
  abits: number;
  seed: number;
  calibSize: number;
  calibData: string;
  toolVersion: string;
  /** Free-form details of the run (iterations, losses, ...). */
  details?: Record<string, unknown>;
}

export interface QuantizedVit {
  config: VitConfig;
  /** config.json text of the source checkpoint, stored verbatim. */
  configText: string;
  /** Float parameters that stay float: cls_token, pos_embed, biases, LayerNorm weights (after RepQ-ViT folding). */
  floats: Map<string, Float32Array>;
  /** The image is not quantized (8-bit input rule of the method), only the conv weight. */
  patchEmbed: { weight: WeightQuant };
  blocks: BlockQuant[];
  /** Head input: per-tensor scale [1] and zp [1]. */
  head: { weight: WeightQuant; input: ActivationQuant };
  info: QuantizationInfo;
}

export interface QuantizedSwin {
  config: SwinConfig;
  configText: string;
  /**
   * Float parameters that stay float: biases, LayerNorms (after RepQ-ViT folding), the relative
   * position bias tables, and each patch merging's reduction bias (the folding creates it; zero
   * without folding).
   */
  floats: Map<string, Float32Array>;
  patchEmbed: { weight: WeightQuant };
  /** Every block in model order, stage by stage (layers.{i}.blocks.{j}). */
  blocks: BlockQuant[];
  /** The patch merging of stages 1, 2, ... (layers.{i}.downsample.reduction): input per tensor [1]. */
  merges: LinearQuant[];
  /** head.fc: input (the pooled features) per tensor [1]. */
  head: LinearQuant;
  info: QuantizationInfo;
}

export type QuantizedModel = QuantizedVit | QuantizedSwin;

/** The float-checkpoint weights that are quantized (stored as integer codes). */
export const QUANTIZED_WEIGHT =
  /^(patch_embed\.proj|blocks\.\d+\.(attn\.qkv|attn\.proj|mlp\.fc1|mlp\.fc2)|layers\.\d+\.blocks\.\d+\.(attn\.qkv|attn\.proj|mlp\.fc1|mlp\.fc2)|layers\.\d+\.downsample\.reduction|head|head\.fc)\.weight$/;

/** The blocks of a quantized model with their name prefixes (blocks.{i}, or a Swin's layers.{i}.blocks.{j}). */
export function namedBlocks(m: QuantizedModel): [string, BlockQuant][] {
  if (m.config.family !== 'swin') return m.blocks.map((b, i) => [`blocks.${i}`, b]);
  const names = swinBlocks(m.config).map((b) => b.name);
  return m.blocks.map((b, i) => [names[i]!, b]);
}

/** The Swin stages that start with patch merging, as reduction name prefixes (layers.{i}.downsample.reduction). */
export function swinMergeNames(cfg: SwinConfig): string[] {
  return cfg.stages.flatMap((s, i) => (s.downsample ? [`layers.${i}.downsample.reduction`] : []));
}

/** BlockQuant linear field -> its timm module name inside a block. */
export const BLOCK_LINEARS = [['qkv', 'attn.qkv'], ['proj', 'attn.proj'], ['fc1', 'mlp.fc1'], ['fc2', 'mlp.fc2']] as const;
/** BlockQuant matmul-input field -> its quantizer name inside a block. */
export const BLOCK_MATMUL_INPUTS = [['q', 'attn.q'], ['k', 'attn.k'], ['v', 'attn.v'], ['attn', 'attn.map']] as const;

/**
 * Every quantizer of the model under its name: weights under their timm names
 * (`blocks.{i}.attn.qkv.weight`, `layers.{i}.downsample.reduction.weight`, `head.fc.weight`, ...),
 * activation quantizers under their points (`blocks.{i}.attn.qkv.input`, `blocks.{i}.attn.q`,
 * `head.input`, ...): the names of the quantized-model file and of the forward's hooks.
 */
export function modelQuantizers(m: QuantizedModel): { weights: Map<string, WeightQuant>; activations: Map<string, ActivationQuant> } {
  const weights = new Map<string, WeightQuant>([['patch_embed.proj.weight', m.patchEmbed.weight]]);
  const activations = new Map<string, ActivationQuant>();
  const linear = (name: string, l: LinearQuant) => {
    weights.set(`${name}.weight`, l.weight);
    activations.set(`${name}.input`, l.input);
  };
  if (m.config.family === 'swin') swinMergeNames(m.config).forEach((name, i) => linear(name, (m as QuantizedSwin).merges[i]!));
  for (const [p, b] of namedBlocks(m)) {
    for (const [field, module] of BLOCK_LINEARS) linear(`${p}.${module}`, b[field]);
    for (const [field, name] of BLOCK_MATMUL_INPUTS) activations.set(`${p}.${name}`, b[field]);
  }
  weights.set(m.config.family === 'swin' ? 'head.fc.weight' : 'head.weight', m.head.weight);
  activations.set('head.input', m.head.input);
  return { weights, activations };
}

/** The model, for what has no Swin path yet (the integer pipeline, reconstruction); a Swin is refused naming `source` and `what`. */
export function requireQuantizedVit(q: QuantizedModel, source: string, what: string): QuantizedVit {
  if (q.config.family === 'swin') throw new FimaqError(`${source}: ${what} does not support quantized Swin models yet (${q.config.architecture})`);
  return q as QuantizedVit;
}
