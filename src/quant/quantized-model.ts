/**
 * A quantized ViT as plain host data: what calibration and reconstruction produce, what the
 * quantized-model file stores (src/io/quantized-file.ts), and what fake-quant evaluation and the
 * integer pipeline consume. Granularities follow ../shared/docs/fimaq-method.md §3.3.
 */
import type { VitConfig } from '../model/config.js';

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

/** Quantizers of one transformer block (T tokens, H heads, hd = D / H). */
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

/** The float-checkpoint weights that are quantized (stored as integer codes). */
export const QUANTIZED_WEIGHT = /^(patch_embed\.proj|blocks\.\d+\.(attn\.qkv|attn\.proj|mlp\.fc1|mlp\.fc2)|head)\.weight$/;
