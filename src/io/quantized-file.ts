/**
 * The quantized-model file: ONE safetensors file holding everything needed to run a quantized ViT,
 * DeiT or Swin (a `QuantizedModel`, src/quant/quantized-model.ts). Pure and browser-safe; the Node
 * reader and writer are in quantized-file-node.ts.
 *
 * Layout (D = embed_dim, T = tokens incl. the class token, H = heads, hd = D / H):
 *
 * - Weight quantizers, for W in `patch_embed.proj.weight` (rows D, cols C*P*P),
 *   `blocks.{i}.attn.qkv.weight`, `blocks.{i}.attn.proj.weight`, `blocks.{i}.mlp.fc1.weight`,
 *   `blocks.{i}.mlp.fc2.weight` and `head.weight` (rows and cols of the timm [out, in] weight):
 *   - `W.codes`      U32 [rows, wordsPerRow(cols, wbits)]  integer codes packed as in src/quant/pack.ts
 *   - `W.scale`      F32 [rows]                             per output channel, finite and > 0
 *   - `W.zero_point` I32 [rows]                             in [0, 2^wbits - 1]
 *   The weight is (code - zero_point[row]) * scale[row].
 * - Activation quantizers, `P.scale` F32 (finite, > 0) and `P.zero_point` F32 (integer values, not
 *   clamped to [0, 2^abits - 1], as the method computes them), for prefix P:
 *   - `blocks.{i}.attn.qkv.input`, `blocks.{i}.attn.proj.input`, `blocks.{i}.mlp.fc1.input`,
 *     `blocks.{i}.mlp.fc2.input`: scale [T] (per token), zero_point [1]
 *   - `blocks.{i}.attn.q`, `blocks.{i}.attn.k`: scale [H, T], zero_point [H]
 *   - `blocks.{i}.attn.v`: scale [H, hd], zero_point [H]
 *   - `blocks.{i}.attn.map` (post-softmax attention): scale [H, T], zero_point [H]
 *   - `head.input`: scale [1], zero_point [1]
 * - Float parameters, F32 under their timm names and shapes: `cls_token` [1, 1, D], `pos_embed`
 *   [1, T, D], `patch_embed.proj.bias`, each block's `norm1.*`, `norm2.*`, `attn.qkv.bias`,
 *   `attn.proj.bias`, `mlp.fc1.bias`, `mlp.fc2.bias`, then `norm.*` and `head.bias` (LayerNorm and
 *   biases after RepQ-ViT folding): every tensor of the float checkpoint except the six weights above.
 * - A Swin (`config` names a swin_* architecture; a `QuantizedSwin`): the same with its names. Block
 *   prefixes are `layers.{i}.blocks.{j}`; attention's token scales (qkv and proj inputs, q, k, the
 *   map) have the window's N positions, the MLP's the stage's R² grid positions. Each patch merging
 *   adds the weight `layers.{i}.downsample.reduction.weight`, its input quantizer
 *   `layers.{i}.downsample.reduction.input` (scale [1], zero_point [1]) and the float
 *   `layers.{i}.downsample.reduction.bias` (RepQ-ViT's folding creates it; zero without folding);
 *   the head's weight is `head.fc.weight`, its input quantizer `head.input` (the pooled features).
 * - `__metadata__` (string -> string):
 *   - `format` = `fimaq-quantized`, `format_version` = `2`
 *   - `payload_crc32`: CRC-32 (src/io/crc32.ts) of the whole data section, the bytes after the
 *     header, as 8 lowercase hex digits. Version 1 files lack it and are still read.
 *   - `config`: the source checkpoint's config.json text, verbatim
 *   - `quantization`: JSON { method, wbits, abits, seed, calib_size, calib_data, tool_version,
 *     details? }; no date or timing, so that a rerun of the same settings writes the same bytes
 *     (files of earlier versions carry a `created` date, which is ignored)
 *   - `layers`: JSON object mapping each quantized weight name to { "wbits": b, "cols": n } and each
 *     activation quantizer prefix to { "abits": b }. The packed codes shape alone does not
 *     determine bits and cols, hence this table. Every weight has quantization.wbits bits and
 *     every activation quantizer quantization.abits.
 */
import { MAX_BITS, MIN_BITS, packCodes, unpackCodes, wordsPerRow } from '../util/pack.js';
import {
  type ActivationQuant,
  BLOCK_LINEARS,
  type BlockQuant,
  QUANTIZED_WEIGHT,
  type QuantizationInfo,
  type QuantizedModel,
  type QuantizedVit,
  type WeightQuant,
  modelQuantizers,
  requireQuantizedVit,
  swinMergeNames,
} from '../quant/quantized-model.js';
import { expectedTensors as expectedCheckpointTensors } from '../model/checkpoint.js';
import type { VitConfig } from '../model/config.js';
import { type ModelConfig, parseModelConfig } from '../model/model-config.js';
import { swinBlocks } from '../model/swin-config.js';
import { FimaqError } from '../util/errors.js';
import { crc32, crc32Hex } from './crc32.js';
import { checkFinite, parseSafetensors, serializeSafetensors, toFloat32, type Dtype, type RawTensor } from './safetensors.js';

export const QUANTIZED_FORMAT = 'fimaq-quantized';
/** The version written. Version 1 is version 2 without `payload_crc32`. */
export const QUANTIZED_FORMAT_VERSION = '2';
const READABLE_VERSIONS = ['1', QUANTIZED_FORMAT_VERSION];
const PAYLOAD_CRC_KEY = 'payload_crc32';


/** What a config implies: quantized weights [rows, cols], activation quantizer shapes, float tensors. */
interface Layout {
  weights: Map<string, [number, number]>;
  activations: Map<string, { scaleShape: number[]; zeroPointShape: number[] }>;
  floats: Map<string, number[]>;
}

const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const fmtShape = (shape: readonly number[]): string => `[${shape.join(', ')}]`;
const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

const LISTED = 5;

/** "a, b, c and 7 more": keeps messages about many tensors on one short line. */
function list(items: string[]): string {
  const shown = items.slice(0, LISTED).join(', ');
  return items.length > LISTED ? `${shown} and ${items.length - LISTED} more` : shown;
}

/** A block's activation quantizers: token scales of attention over `attnTokens`, of the MLP over `mlpTokens`. */
function blockActivations(activations: Layout['activations'], p: string, attnTokens: number, mlpTokens: number, heads: number, dim: number): void {
  for (const [, module] of BLOCK_LINEARS) {
    const t = module.startsWith('attn') ? attnTokens : mlpTokens;
    activations.set(`${p}.${module}.input`, { scaleShape: [t], zeroPointShape: [1] });
  }
  activations.set(`${p}.attn.q`, { scaleShape: [heads, attnTokens], zeroPointShape: [heads] });
  activations.set(`${p}.attn.k`, { scaleShape: [heads, attnTokens], zeroPointShape: [heads] });
  activations.set(`${p}.attn.v`, { scaleShape: [heads, dim / heads], zeroPointShape: [heads] });
  activations.set(`${p}.attn.map`, { scaleShape: [heads, attnTokens], zeroPointShape: [heads] });
}

function layoutOf(cfg: ModelConfig): Layout {
  const weights = new Map<string, [number, number]>();
  const floats = new Map<string, number[]>();
  for (const [name, shape] of expectedCheckpointTensors(cfg)) {
    // Rows are output channels; the patch-embed conv [D, C, P, P] flattens to D x C*P*P.
    if (QUANTIZED_WEIGHT.test(name)) weights.set(name, [shape[0]!, product(shape.slice(1))]);
    else floats.set(name, shape);
  }
  const activations: Layout['activations'] = new Map();
  if (cfg.family === 'swin') {
    // Each patch merging's reduction keeps the bias RepQ-ViT folding gives it (zero without folding).
    for (const name of swinMergeNames(cfg)) {
      floats.set(`${name}.bias`, [weights.get(`${name}.weight`)![0]]);
      activations.set(`${name}.input`, { scaleShape: [1], zeroPointShape: [1] });
    }
    for (const b of swinBlocks(cfg)) {
      const s = cfg.stages[b.stage]!;
      blockActivations(activations, b.name, s.windowing[b.index % 2]!.window ** 2, s.resolution ** 2, s.numHeads, s.dim);
    }
  } else {
    for (let i = 0; i < cfg.depth; i++) blockActivations(activations, `blocks.${i}`, cfg.numTokens, cfg.numTokens, cfg.numHeads, cfg.embedDim);
  }
  activations.set('head.input', { scaleShape: [1], zeroPointShape: [1] });
  return { weights, activations, floats };
}

function assembleBlock(p: string, weights: Map<string, WeightQuant>, activations: Map<string, ActivationQuant>): BlockQuant {
  const linear = (module: string) => ({ weight: weights.get(`${p}.${module}.weight`)!, input: activations.get(`${p}.${module}.input`)! });
  const act = (name: string) => activations.get(`${p}.${name}`)!;
  return {
    qkv: linear('attn.qkv'),
    proj: linear('attn.proj'),
    fc1: linear('mlp.fc1'),
    fc2: linear('mlp.fc2'),
    q: act('attn.q'),
    k: act('attn.k'),
    v: act('attn.v'),
    attn: act('attn.map'),
  };
}

/** The model from its quantizers by name (modelQuantizers' inverse). */
function assembleModel(
  config: ModelConfig,
  rest: { configText: string; floats: Map<string, Float32Array>; info: QuantizationInfo },
  weights: Map<string, WeightQuant>,
  activations: Map<string, ActivationQuant>,
): QuantizedModel {
  const patchEmbed = { weight: weights.get('patch_embed.proj.weight')! };
  const head = { input: activations.get('head.input')! };
  if (config.family === 'swin') {
    return {
      config,
      ...rest,
      patchEmbed,
      blocks: swinBlocks(config).map((b) => assembleBlock(b.name, weights, activations)),
      merges: swinMergeNames(config).map((n) => ({ weight: weights.get(`${n}.weight`)!, input: activations.get(`${n}.input`)! })),
      head: { ...head, weight: weights.get('head.fc.weight')! },
    };
  }
  return {
    config,
    ...rest,
    patchEmbed,
    blocks: Array.from({ length: config.depth }, (_, i) => assembleBlock(`blocks.${i}`, weights, activations)),
    head: { ...head, weight: weights.get('head.weight')! },
  };
}

// ---- value checks, shared by the writer (refuse to write what the reader rejects) and the reader ----

/** Index of the first scale that is not finite and positive, or -1. */
function badScale(scale: Float32Array): number {
  return scale.findIndex((s) => !(s > 0 && s < Infinity));
}

/** Reader: a bad scale in the file. */
function checkScales(scale: Float32Array, tensor: string, source: string): void {
  const i = badScale(scale);
  if (i >= 0) throw new FimaqError(`${source}: tensor '${tensor}' has scale ${scale[i]} at index ${i} (scales must be finite and positive)`);
}

/** Writer: a non-finite scale comes from NaN or Infinity upstream, which the message says, to point at the cause. */
function checkModelScales(scale: Float32Array, quantizer: string, where: string): void {
  const i = badScale(scale);
  if (i < 0) return;
  const s = scale[i]!;
  const why = Number.isFinite(s) ? 'scales must be finite and positive' : 'non-finite values in the model or its activations';
  throw new FimaqError(`${where}: quantizer '${quantizer}' has scale ${s} at index ${i} (${why})`);
}

function checkWeightZeroPoints(zp: Int32Array, bits: number, tensor: string, where: string): void {
  const max = 2 ** bits - 1;
  for (let i = 0; i < zp.length; i++) {
    const z = zp[i]!;
    if (z < 0 || z > max) throw new FimaqError(`${where}: tensor '${tensor}' has zero-point ${z} at index ${i}, outside [0, ${max}] for ${bits} bits`);
  }
}

/**
 * Activation zero-points must be integers but may leave [0, 2^b - 1]: the method sets
 * z = -round(lower / s) unclamped, so a range that is all positive legitimately gives z < 0.
 */
function checkActivationZeroPoints(zp: Float32Array, tensor: string, where: string): void {
  for (let i = 0; i < zp.length; i++) {
    const z = zp[i]!;
    if (!Number.isInteger(z)) throw new FimaqError(`${where}: tensor '${tensor}' has zero-point ${z} at index ${i}, not an integer`);
  }
}

function checkBitWidth(v: unknown, field: string, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < MIN_BITS || v > MAX_BITS) {
    throw new FimaqError(`${where}: ${field}: wrong bit width ${JSON.stringify(v)} (expected an integer from ${MIN_BITS} to ${MAX_BITS})`);
  }
  return v;
}

/**
 * Every layer uses the widths the quantization info states (this tool has no mixed precision), so
 * a disagreement means a damaged or hand-edited file; names the first disagreeing layer.
 */
function checkBitsAgree(
  info: Pick<QuantizationInfo, 'wbits' | 'abits'>,
  weightBits: Iterable<[string, number]>,
  activationBits: Iterable<[string, number]>,
  where: string,
  infoField: string,
): void {
  for (const [field, expected, layers] of [['wbits', info.wbits, weightBits], ['abits', info.abits, activationBits]] as const) {
    for (const [name, bits] of layers) {
      if (bits !== expected) {
        throw new FimaqError(`${where}: ${infoField}.${field} is ${expected} but layer '${name}' has ${field} ${bits} (every layer must use the same width)`);
      }
    }
  }
}

// ---- writer ----

type TensorRecord = Record<string, { dtype: Dtype; shape: number[]; data: ArrayBufferView }>;

/**
 * Serialises a quantized model; `source` names the output in errors. A model the reader would
 * reject is refused with a FimaqError; one that disagrees with its own config is a bug and throws.
 */
export function serializeQuantizedModel(m: QuantizedModel, source = 'quantized model'): Uint8Array {
  const where = `${source}: cannot write`;
  const layout = layoutOf(m.config);
  const { weights, activations } = modelQuantizers(m);
  if (weights.size !== layout.weights.size || activations.size !== layout.activations.size) {
    throw new Error(`${where}: model has ${weights.size} quantized weights and ${activations.size} activation quantizers; its config implies ${layout.weights.size} and ${layout.activations.size}`);
  }
  const tensors: TensorRecord = {};
  const layers: Record<string, { wbits: number; cols: number } | { abits: number }> = {};

  for (const [name, [rows, cols]] of layout.weights) {
    const w = weights.get(name)!;
    const bits = checkBitWidth(w.bits, `${name} bits`, where);
    if (w.rows !== rows || w.cols !== cols || w.scale.length !== rows || w.zeroPoint.length !== rows) {
      throw new Error(`${where}: ${name} is ${w.rows}x${w.cols} with ${w.scale.length} scales and ${w.zeroPoint.length} zero-points; the config implies ${rows}x${cols}`);
    }
    checkModelScales(w.scale, name, where);
    checkWeightZeroPoints(w.zeroPoint, bits, `${name}.zero_point`, where);
    tensors[`${name}.codes`] = { dtype: 'U32', shape: [rows, wordsPerRow(cols, bits)], data: packCodes(w.codes, rows, cols, bits) };
    tensors[`${name}.scale`] = { dtype: 'F32', shape: [rows], data: w.scale };
    tensors[`${name}.zero_point`] = { dtype: 'I32', shape: [rows], data: w.zeroPoint };
    layers[name] = { wbits: bits, cols };
  }

  for (const [prefix, { scaleShape, zeroPointShape }] of layout.activations) {
    const a = activations.get(prefix)!;
    const bits = checkBitWidth(a.bits, `${prefix} bits`, where);
    if (!sameShape(a.scaleShape, scaleShape) || !sameShape(a.zeroPointShape, zeroPointShape) ||
        a.scale.length !== product(scaleShape) || a.zeroPoint.length !== product(zeroPointShape)) {
      throw new Error(
        `${where}: ${prefix} has scale ${fmtShape(a.scaleShape)} (${a.scale.length} values) and zero-point ${fmtShape(a.zeroPointShape)} ` +
          `(${a.zeroPoint.length}); the config implies ${fmtShape(scaleShape)} and ${fmtShape(zeroPointShape)}`,
      );
    }
    checkModelScales(a.scale, prefix, where);
    checkActivationZeroPoints(a.zeroPoint, `${prefix}.zero_point`, where);
    tensors[`${prefix}.scale`] = { dtype: 'F32', shape: scaleShape, data: a.scale };
    tensors[`${prefix}.zero_point`] = { dtype: 'F32', shape: zeroPointShape, data: a.zeroPoint };
    layers[prefix] = { abits: bits };
  }

  const extra = [...m.floats.keys()].filter((k) => !layout.floats.has(k));
  if (extra.length > 0) throw new Error(`${where}: unexpected float tensors: ${list(extra)}`);
  for (const [name, shape] of layout.floats) {
    const data = m.floats.get(name);
    if (data === undefined || data.length !== product(shape)) {
      throw new Error(`${where}: float tensor ${name} has ${data?.length ?? 'no'} values; ${fmtShape(shape)} needs ${product(shape)}`);
    }
    checkFinite(data, name, where);
    tensors[name] = { dtype: 'F32', shape, data };
  }

  const { info } = m;
  checkBitsAgree(info, [...weights].map(([k, w]) => [k, w.bits]), [...activations].map(([k, a]) => [k, a.bits]), where, 'quantization');
  const quantization: Record<string, unknown> = {
    method: info.method,
    wbits: info.wbits,
    abits: info.abits,
    seed: info.seed,
    calib_size: info.calibSize,
    calib_data: info.calibData,
    tool_version: info.toolVersion,
  };
  if (info.details !== undefined) quantization.details = info.details;

  return serializeSafetensors(tensors, (data) => ({
    format: QUANTIZED_FORMAT,
    format_version: QUANTIZED_FORMAT_VERSION,
    [PAYLOAD_CRC_KEY]: crc32Hex(data.reduce((crc, chunk) => crc32(chunk, crc), 0)),
    config: m.configText,
    quantization: JSON.stringify(quantization),
    layers: JSON.stringify(layers),
  }));
}

// ---- reader ----

/** Cheap check of the safetensors header alone: does it declare the quantized-model format? */
export function isQuantizedFile(bytes: Uint8Array): boolean {
  if (bytes.length < 8) return false;
  const headerLen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (headerLen > BigInt(bytes.length - 8)) return false;
  try {
    const header: unknown = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + Number(headerLen))));
    return isObject(header) && isObject(header.__metadata__) && header.__metadata__.format === QUANTIZED_FORMAT;
  } catch {
    return false;
  }
}

function metadataJson(metadata: Record<string, string>, key: string, source: string): Record<string, unknown> {
  const text = metadata[key];
  if (text === undefined) throw new FimaqError(`${source}: metadata '${key}' is missing`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FimaqError(`${source}: metadata '${key}' is not valid JSON (${(e as Error).message.replace(/\s*\n\s*/g, ' ')})`);
  }
  if (!isObject(json)) throw new FimaqError(`${source}: metadata '${key}' is not a JSON object`);
  return json;
}

function parseInfo(j: Record<string, unknown>, source: string): QuantizationInfo {
  const field = (key: string) => `metadata quantization.${key}`;
  const str = (key: string): string => {
    const v = j[key];
    if (typeof v !== 'string') throw new FimaqError(`${source}: ${field(key)} must be a string, got ${JSON.stringify(v)}`);
    return v;
  };
  const int = (key: string, min: number): number => {
    const v = j[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
      throw new FimaqError(`${source}: ${field(key)} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const info: QuantizationInfo = {
    method: str('method'),
    wbits: checkBitWidth(j.wbits, field('wbits'), source),
    abits: checkBitWidth(j.abits, field('abits'), source),
    seed: int('seed', Number.MIN_SAFE_INTEGER),
    calibSize: int('calib_size', 0),
    calibData: str('calib_data'),
    toolVersion: str('tool_version'),
  };
  if (j.details !== undefined) {
    if (!isObject(j.details)) throw new FimaqError(`${source}: ${field('details')} must be a JSON object`);
    info.details = j.details;
  }
  return info;
}

/** Bit widths by weight name and by activation prefix, checked against the layout. */
function parseLayers(j: Record<string, unknown>, layout: Layout, source: string): Map<string, number> {
  const expected = [...layout.weights.keys(), ...layout.activations.keys()];
  const missing = expected.filter((k) => !(k in j));
  const unexpected = Object.keys(j).filter((k) => !layout.weights.has(k) && !layout.activations.has(k));
  if (missing.length > 0 || unexpected.length > 0) {
    const problems: string[] = [];
    if (missing.length > 0) problems.push(`missing entries: ${list(missing)}`);
    if (unexpected.length > 0) problems.push(`unexpected entries: ${list(unexpected)}`);
    throw new FimaqError(`${source}: metadata layers does not match the config: ${problems.join('; ')}`);
  }
  const bits = new Map<string, number>();
  for (const name of expected) {
    const entry = j[name];
    const field = `metadata layers['${name}']`;
    if (!isObject(entry)) throw new FimaqError(`${source}: ${field} is not a JSON object`);
    const dims = layout.weights.get(name);
    if (dims === undefined) {
      bits.set(name, checkBitWidth(entry.abits, `${field}.abits`, source));
      continue;
    }
    bits.set(name, checkBitWidth(entry.wbits, `${field}.wbits`, source));
    if (entry.cols !== dims[1]) {
      throw new FimaqError(`${source}: ${field}.cols ${JSON.stringify(entry.cols)} disagrees with the config (${name} has ${dims[1]} columns)`);
    }
  }
  return bits;
}

interface ExpectedTensor {
  dtype: Dtype;
  shape: number[];
  /** Explains a packed shape in a mismatch message. */
  note?: string;
}

function expectedTensors(layout: Layout, bits: Map<string, number>): Map<string, ExpectedTensor> {
  const out = new Map<string, ExpectedTensor>();
  for (const [name, [rows, cols]] of layout.weights) {
    const b = bits.get(name)!;
    out.set(`${name}.codes`, { dtype: 'U32', shape: [rows, wordsPerRow(cols, b)], note: `${cols} cols at ${b} bits` });
    out.set(`${name}.scale`, { dtype: 'F32', shape: [rows] });
    out.set(`${name}.zero_point`, { dtype: 'I32', shape: [rows] });
  }
  for (const [prefix, { scaleShape, zeroPointShape }] of layout.activations) {
    out.set(`${prefix}.scale`, { dtype: 'F32', shape: scaleShape });
    out.set(`${prefix}.zero_point`, { dtype: 'F32', shape: zeroPointShape });
  }
  for (const [name, shape] of layout.floats) out.set(name, { dtype: 'F32', shape });
  return out;
}

/** Reports every missing, unexpected, mis-shaped or mis-typed tensor together, on one line. */
function checkTensorSet(tensors: Map<string, RawTensor>, expected: Map<string, ExpectedTensor>, cfg: ModelConfig, source: string): void {
  const missing = [...expected.keys()].filter((k) => !tensors.has(k));
  const unexpected = [...tensors.keys()].filter((k) => !expected.has(k));
  const misshaped: string[] = [];
  const wrongType: string[] = [];
  for (const [name, e] of expected) {
    const t = tensors.get(name);
    if (t === undefined) continue;
    if (!sameShape(t.shape, e.shape)) {
      misshaped.push(`${name} ${fmtShape(t.shape)} (expected ${fmtShape(e.shape)}${e.note === undefined ? '' : `: ${e.note}`})`);
    } else if (t.dtype !== e.dtype) wrongType.push(`${name} ${t.dtype} (expected ${e.dtype})`);
  }
  const problems: string[] = [];
  if (missing.length > 0) problems.push(`missing tensors: ${list(missing)}`);
  if (unexpected.length > 0) problems.push(`unexpected tensors: ${list(unexpected)}`);
  if (misshaped.length > 0) problems.push(`wrong shapes: ${list(misshaped)}`);
  if (wrongType.length > 0) problems.push(`wrong dtypes: ${list(wrongType)}`);
  if (problems.length > 0) {
    throw new FimaqError(`${source}: tensors do not match ${cfg.architecture} and the layers metadata: ${problems.join('; ')}`);
  }
}

/**
 * Copies tensor bytes into a fresh buffer, since file offsets need not be 4-byte aligned for a
 * typed-array view. `new Uint8Array(view)` always copies (Node's Buffer#slice would not).
 */
const u32 = (t: RawTensor): Uint32Array => new Uint32Array(new Uint8Array(t.bytes).buffer);
const i32 = (t: RawTensor): Int32Array => new Int32Array(new Uint8Array(t.bytes).buffer);

function checkPayloadCrc(stored: string | undefined, data: Uint8Array, source: string): void {
  if (stored === undefined) throw new FimaqError(`${source}: metadata '${PAYLOAD_CRC_KEY}' is missing`);
  if (!/^[0-9a-f]{8}$/.test(stored)) {
    throw new FimaqError(`${source}: metadata '${PAYLOAD_CRC_KEY}' is ${JSON.stringify(stored)}, not 8 lowercase hex digits`);
  }
  const computed = crc32Hex(crc32(data));
  if (computed !== stored) {
    throw new FimaqError(`${source}: payload checksum mismatch (stored ${stored}, computed ${computed}): the file is corrupt`);
  }
}

/** Parses and fully validates a quantized-model file; `source` names it in error messages. */
export function parseQuantizedModel(bytes: Uint8Array, source: string): QuantizedModel {
  const { tensors, metadata, data } = parseSafetensors(bytes, source);
  if (metadata.format !== QUANTIZED_FORMAT) {
    const found = metadata.format === undefined ? 'its metadata has no format' : `metadata format is '${metadata.format}'`;
    throw new FimaqError(`${source}: not a ${QUANTIZED_FORMAT} file (${found}); is it a float checkpoint?`);
  }
  const version = metadata.format_version;
  if (version === undefined || !READABLE_VERSIONS.includes(version)) {
    const found = version === undefined ? 'missing' : `'${version}'`;
    throw new FimaqError(`${source}: unsupported format_version ${found} (this version reads ${READABLE_VERSIONS.join(' and ')})`);
  }
  // Checked before any value, so that a bit flip is reported as corruption, not as a bad scale.
  if (version !== '1') checkPayloadCrc(metadata[PAYLOAD_CRC_KEY], data, source);
  const configText = metadata.config;
  if (configText === undefined) throw new FimaqError(`${source}: metadata 'config' is missing`);
  const config = parseModelConfig(configText, `${source}: metadata config`);
  const info = parseInfo(metadataJson(metadata, 'quantization', source), source);
  const layout = layoutOf(config);
  const bits = parseLayers(metadataJson(metadata, 'layers', source), layout, source);
  checkTensorSet(tensors, expectedTensors(layout, bits), config, source);
  const bitsOf = (names: Iterable<string>) => [...names].map((k): [string, number] => [k, bits.get(k)!]);
  checkBitsAgree(info, bitsOf(layout.weights.keys()), bitsOf(layout.activations.keys()), source, 'metadata quantization');

  const get = (name: string): RawTensor => tensors.get(name)!;
  const weights = new Map<string, WeightQuant>();
  for (const [name, [rows, cols]] of layout.weights) {
    const b = bits.get(name)!;
    const scale = toFloat32(get(`${name}.scale`), `${name}.scale`, source);
    const zeroPoint = i32(get(`${name}.zero_point`));
    checkScales(scale, `${name}.scale`, source);
    checkWeightZeroPoints(zeroPoint, b, `${name}.zero_point`, source);
    weights.set(name, { bits: b, rows, cols, scale, zeroPoint, codes: unpackCodes(u32(get(`${name}.codes`)), rows, cols, b) });
  }
  const activations = new Map<string, ActivationQuant>();
  for (const [prefix, { scaleShape, zeroPointShape }] of layout.activations) {
    const scale = toFloat32(get(`${prefix}.scale`), `${prefix}.scale`, source);
    const zeroPoint = toFloat32(get(`${prefix}.zero_point`), `${prefix}.zero_point`, source);
    checkScales(scale, `${prefix}.scale`, source);
    checkActivationZeroPoints(zeroPoint, `${prefix}.zero_point`, source);
    activations.set(prefix, { bits: bits.get(prefix)!, scale, scaleShape, zeroPoint, zeroPointShape });
  }
  const floats = new Map<string, Float32Array>();
  for (const name of layout.floats.keys()) {
    const values = toFloat32(get(name), name, source);
    checkFinite(values, name, source);
    floats.set(name, values);
  }

  return assembleModel(config, { configText, floats, info }, weights, activations);
}

/** A quantized-model file of a ViT / DeiT, for what has no Swin path yet; a Swin's is refused naming `what`. */
export function parseQuantizedVit(bytes: Uint8Array, source: string, what: string): QuantizedVit {
  return requireQuantizedVit(parseQuantizedModel(bytes, source), source, what);
}


/** VitConfig fields that must agree, under their config.json names (mlp_hidden = int(embed_dim * mlp_ratio)). */
const VIT_FIELDS: [keyof VitConfig, string][] = [
  ['architecture', 'architecture'],
  ['imgSize', 'img_size'],
  ['patchSize', 'patch_size'],
  ['inChans', 'in_chans'],
  ['embedDim', 'embed_dim'],
  ['depth', 'depth'],
  ['numHeads', 'num_heads'],
  ['mlpHidden', 'mlp_hidden'],
  ['numClasses', 'num_classes'],
];

/** The fields that define a graph, under their config.json names, as text. */
function archFields(cfg: ModelConfig): Map<string, string> {
  if (cfg.family !== 'swin') return new Map(VIT_FIELDS.map(([key, field]) => [field, String(cfg[key])]));
  return new Map([
    ['architecture', cfg.architecture],
    ['img_size', String(cfg.imgSize)],
    ['patch_size', String(cfg.patchSize)],
    ['in_chans', String(cfg.inChans)],
    ['embed_dim', String(cfg.embedDim)],
    ['window_size', String(cfg.windowSize)],
    ['depths', cfg.stages.map((s) => s.depth).join(',')],
    ['num_heads', cfg.stages.map((s) => s.numHeads).join(',')],
    ['mlp_hidden', cfg.stages.map((s) => s.mlpHidden).join(',')],
    ['num_classes', String(cfg.numClasses)],
  ]);
}

/**
 * Rejects a quantized model whose architecture differs from the model it is used with; every
 * differing field is named, file value first (e.g. "embed_dim 64 vs 96").
 */
export function checkMatchesModel(q: QuantizedModel, cfg: ModelConfig, source: string): void {
  const a = archFields(q.config);
  const b = archFields(cfg);
  const diffs = [...a.keys()].filter((field) => a.get(field) !== b.get(field)).map((field) => `${field} ${a.get(field)} vs ${b.get(field) ?? 'none'}`);
  if (diffs.length > 0) {
    throw new FimaqError(`${source}: quantized model does not match the model (quantized file vs model): ${diffs.join(', ')}`);
  }
}
