/**
 * Stage A of the method (../shared/docs/fimaq-method.md §4): quantizer initialisation on the
 * calibration images, block by block with the whole model in float, and RepQ-ViT
 * reparameterisation of the post-LayerNorm inputs. `rtn` is the plain min/max baseline on the
 * same captures. The result is a QuantizedVit with round-to-nearest weight codes.
 */
import type { VitCheckpoint } from '../model/checkpoint.js';
import type { ModelConfig } from '../model/model-config.js';
import { VitModel } from '../model/vit.js';
import { attentionScores } from '../ops/attention.js';
import type { QuantView } from '../ops/fake-quant.js';
import { matmul } from '../ops/matmul.js';
import type { GpuContext, Tensor } from '../runtime/context.js';
import { roundHalfEven, valuesPerHead } from './candidates.js';
import { CaptureHooks, type Chunking, RowCache, forBatches } from './capture.js';
import { calibrationChunkImages } from './memory.js';
import { checkBits } from '../util/pack.js';
import { type ActivationQuant, type BlockQuant, QUANTIZED_WEIGHT, type QuantizedVit, type WeightQuant } from './quantized-model.js';
import { repqFold } from './repq.js';
import { type Quantizer, searchConv, searchLinear, searchMatmul, searchPerChannelInput } from './search.js';
import { attentionPerHeadRow, qkvPerHeadChannel, qkvPerHeadToken } from './views.js';

export type CalibrationMethod = 'rtn' | 'calib';

export interface CalibrateOptions {
  method: CalibrationMethod;
  wbits: number;
  abits: number;
  /** Candidates per grid search (the official eq_n). */
  eqN?: number;
  /** Alternating search rounds (the official search_round). */
  rounds?: number;
  /** RepQ-ViT folding of the post-LayerNorm inputs; default: with `calib` when wbits == abits, as the official code. */
  reparam?: boolean;
  /** Images per GPU batch while capturing (at most one chunk of images, see calibrationChunkImages). */
  batchSize?: number;
  onProgress?: (stage: string, done: number, total: number) => void;
  /** Checked before each stage (patch embedding, each block, the head): aborting stops there. */
  signal?: AbortSignal;
}

export interface CalibrationResult {
  quantized: Omit<QuantizedVit, 'info' | 'configText'>;
  /**
   * The float parameters after RepQ-ViT folding (equal to the checkpoint's without reparam): the
   * function of the float model is unchanged, and reconstruction starts its rounding from them.
   */
  reparameterized: Map<string, Float32Array>;
}

/** Integer codes of a weight under a per-row quantizer: clamp(round(w / s) + z, 0, qmax), as fake-quant computes. */
export function roundToNearestCodes(w: Float32Array, rows: number, cols: number, q: Quantizer, bits: number): WeightQuant {
  const qmax = 2 ** bits - 1;
  const codes = new Uint8Array(rows * cols);
  const zeroPoint = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    // Weight zero-points are stored as integers in [0, qmax]; bound-derived ones can fall outside.
    const z = Math.min(Math.max(roundHalfEven(q.zeroPoint[r]), 0), qmax);
    zeroPoint[r] = z;
    const s = q.scale[r];
    for (let c = 0; c < cols; c++) codes[r * cols + c] = Math.min(Math.max(roundHalfEven(Math.fround(w[r * cols + c] / s)) + z, 0), qmax);
  }
  return { bits, rows, cols, scale: Float32Array.from(q.scale), zeroPoint, codes };
}

/** Min/max quantizer of a set of values (the rtn baseline). */
function minMax(values: ArrayLike<number>, bits: number): { scale: number; zeroPoint: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    lo = Math.min(lo, values[i]);
    hi = Math.max(hi, values[i]);
  }
  lo = Math.min(lo, 0);
  hi = Math.max(hi, 0);
  const qmax = 2 ** bits - 1;
  const scale = Math.max((hi - lo) / qmax, 1e-8);
  return { scale, zeroPoint: Math.min(Math.max(roundHalfEven(-lo / scale), 0), qmax) };
}

export function minMaxRows(w: Float32Array, rows: number, cols: number, bits: number): Quantizer {
  const scale = new Float32Array(rows);
  const zeroPoint = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const q = minMax(w.subarray(r * cols, (r + 1) * cols), bits);
    scale[r] = q.scale;
    zeroPoint[r] = q.zeroPoint;
  }
  return { scale, zeroPoint };
}

/** Min/max quantizer per group of a view's values (grouped by zero-point index: the head). */
function minMaxPerGroup(x: Float32Array, view: QuantView, groups: number, bits: number): Quantizer {
  const perGroup = valuesPerHead(x, view, groups).map((values) => minMax(values, bits));
  return { scale: Float32Array.from(perGroup, (q) => q.scale), zeroPoint: Float32Array.from(perGroup, (q) => q.zeroPoint) };
}

/** Expands a per-group quantizer to `perGroup` scales per group (the per-token / per-channel expansion of §3.3). */
export function expand(q: Quantizer, groups: number, perGroup: number, bits: number, zeroPointShape: number[], scaleShape: number[]): ActivationQuant {
  const scale = new Float32Array(groups * perGroup);
  for (let g = 0; g < groups; g++) scale.fill(q.scale[g], g * perGroup, (g + 1) * perGroup);
  return { bits, scale, scaleShape, zeroPoint: Float32Array.from(q.zeroPoint, roundHalfEven), zeroPointShape };
}

export function weightOf(weights: Map<string, Float32Array>, name: string): Float32Array {
  const w = weights.get(name);
  if (!w) throw new Error(`checkpoint has no tensor ${name}`);
  return w;
}

/** What every search of one calibration shares; `weights` is the working copy RepQ-ViT rewrites. */
export interface CalibrationEnv {
  ctx: GpuContext;
  weights: Map<string, Float32Array>;
  search: boolean;
  reparam: boolean;
  wbits: number;
  abits: number;
  eqN: number;
  rounds: number;
}

/** A linear to calibrate: its module name, its captured input rows, and the LayerNorm before it when RepQ-ViT may fold one. */
export interface LinearToCalibrate {
  name: string;
  input: RowCache;
  norm: string | null;
  out: number;
  in: number;
}

/**
 * One linear (§4.1; rtn: min/max), after folding RepQ-ViT into a post-LayerNorm input when the
 * calibration reparameterises. A linear without a bias (Swin's reduction) gets one, zero unless the
 * folding makes it otherwise. Returns the weight codes and the per-tensor input quantizer.
 */
export async function calibrateLinear(env: CalibrationEnv, l: LinearToCalibrate): Promise<{ weight: WeightQuant; input: Quantizer }> {
  const { ctx, weights, wbits, abits, eqN, rounds } = env;
  const biasName = `${l.name}.bias`;
  if (!weights.has(biasName)) weights.set(biasName, new Float32Array(l.out));
  let xHost = await l.input.read();
  let wHost = weightOf(weights, `${l.name}.weight`);
  let input = l.input;
  if (env.reparam && l.norm) {
    const perChannel = await searchPerChannelInput(ctx, input.chunks, xHost, l.in, abits, eqN);
    const folded = repqFold({
      scale: perChannel.scale,
      zeroPoint: perChannel.zeroPoint,
      gamma: weightOf(weights, `${l.norm}.weight`),
      beta: weightOf(weights, `${l.norm}.bias`),
      weight: wHost,
      bias: weightOf(weights, biasName),
      outFeatures: l.out,
    });
    weights.set(`${l.norm}.weight`, Float32Array.from(folded.gamma));
    weights.set(`${l.norm}.bias`, Float32Array.from(folded.beta));
    wHost = Float32Array.from(folded.weight);
    weights.set(`${l.name}.weight`, wHost);
    weights.set(biasName, Float32Array.from(folded.bias));
    // The LayerNorm output seen by the linear becomes x / r - b per channel.
    xHost = Float32Array.from(xHost, (v, j) => v / folded.r[j % l.in] - folded.b[j % l.in]);
    input = RowCache.upload(ctx, xHost, l.input.count, l.input.rowShape, `${l.name}.input.reparam`, { rowsPerChunk: l.input.rowsPerChunk });
  }
  let q: { weight: Quantizer; input: Quantizer };
  if (env.search) {
    const wT = ctx.upload(wHost, [l.out, l.in], `${l.name}.weight`);
    const bT = ctx.upload(weightOf(weights, biasName), [l.out], biasName);
    q = await searchLinear(ctx, { x: input.chunks, xHost, w: wT, wHost, bias: bT, wbits, abits, eqN, rounds });
    wT.release();
    bT.release();
  } else {
    const m = minMax(xHost, abits);
    q = { weight: minMaxRows(wHost, l.out, l.in, wbits), input: { scale: Float32Array.of(m.scale), zeroPoint: Float32Array.of(m.zeroPoint) } };
  }
  if (input !== l.input) input.release();
  return { weight: roundToNearestCodes(wHost, l.out, l.in, q.weight, wbits), input: q.input };
}

/** The patch embedding's weight (§4.3; rtn: min/max). The image is not quantized. */
export async function calibratePatchEmbed(
  env: CalibrationEnv,
  images: Float32Array,
  count: number,
  cfg: Pick<ModelConfig, 'inChans' | 'imgSize' | 'patchSize' | 'embedDim'>,
  chunking: Chunking,
): Promise<{ weight: WeightQuant }> {
  const { ctx, wbits } = env;
  const D = cfg.embedDim;
  const peW = weightOf(env.weights, 'patch_embed.proj.weight');
  const cpp = cfg.inChans * cfg.patchSize ** 2;
  let peQuant: Quantizer;
  if (env.search) {
    const patches = RowCache.upload(ctx, im2col(images, count, cfg.inChans, cfg.imgSize, cfg.patchSize), count, [(cfg.imgSize / cfg.patchSize) ** 2, cpp], 'calib.patches', chunking);
    const wT = ctx.upload(peW, [D, cpp], 'calib.pe.weight');
    peQuant = await searchConv(ctx, patches.chunks, wT, peW, wbits, env.rounds, env.eqN);
    patches.release();
    wT.release();
  } else {
    peQuant = minMaxRows(peW, D, cpp, wbits);
  }
  return { weight: roundToNearestCodes(peW, D, cpp, peQuant, wbits) };
}

/**
 * A block's geometry for its quantizers: attention runs on `windows` sequences of `attnTokens`
 * (a ViT: the images and all tokens; a Swin: every window of every image and the window's
 * positions), the MLP on the images' `mlpTokens`.
 */
export interface BlockGeometry {
  windows: number;
  /**
   * Whether the windows hold padding rows (a Swin grid that is not a multiple of the window). timm
   * pads after norm1, so a padding row is zero in the LayerNorm's output space; RepQ-ViT's folding
   * moves that space by -b per channel and would change what the padding rows contribute: qkv's
   * input is then not folded.
   */
  padded: boolean;
  attnTokens: number;
  mlpTokens: number;
  dim: number;
  heads: number;
  mlpHidden: number;
}

/** The capture points of a block, under its prefix. */
export const BLOCK_POINTS = ['attn.qkv.input', 'attn.qkv.output', 'attn.map', 'attn.proj.input', 'mlp.fc1.input', 'mlp.fc2.input'];

/** Every quantizer of one pre-LN transformer block, from its captured points. */
export async function calibrateBlock(env: CalibrationEnv, p: string, capture: CaptureHooks, g: BlockGeometry): Promise<BlockQuant> {
  const { ctx, abits, eqN, rounds } = env;
  const take = (point: string) => capture.take(`${p}.${point}`);
  const { attnTokens: T, dim: D, heads: H, windows } = g;
  const hd = D / H;
  const linear = async (name: string, input: string, norm: string | null, out: number, inF: number, tokens: number) => {
    const q = await calibrateLinear(env, { name: `${p}.${name}`, input: take(input), norm: norm && `${p}.${norm}`, out, in: inF });
    return { weight: q.weight, input: expand(q.input, 1, tokens, abits, [1], [tokens]) };
  };
  const qkvQ = await linear('attn.qkv', 'attn.qkv.input', g.padded ? null : 'norm1', 3 * D, D, T);
  const projQ = await linear('attn.proj', 'attn.proj.input', null, D, D, T);
  const fc1Q = await linear('mlp.fc1', 'mlp.fc1.input', 'norm2', g.mlpHidden, D, g.mlpTokens);
  const fc2Q = await linear('mlp.fc2', 'mlp.fc2.input', null, D, g.mlpHidden, g.mlpTokens);

  // The two matmuls of attention, per head, from the captured qkv and attention map.
  const qkv = take('attn.qkv.output');
  const map = take('attn.map');
  const qkvHost = await qkv.read();
  const mapHost = await map.read();
  const qView = qkvPerHeadToken(windows, T, H, hd, 0);
  const kView = qkvPerHeadToken(windows, T, H, hd, 1);
  const vView = qkvPerHeadChannel(windows, T, H, hd);
  const mapView = attentionPerHeadRow(windows, H, T);
  let qk: { a: Quantizer; b: Quantizer };
  let av: { a: Quantizer; b: Quantizer };
  if (env.search) {
    const qkRef = qkv.chunks.map((c) => attentionScores(ctx, c, H, 'calib.qk', 1));
    qk = await searchMatmul(ctx, {
      M: T, N: T, K: hd, images: windows, heads: H, bits: abits, rounds, candidates: eqN + 1,
      reference: { tensor: qkRef, rowStride: T, colStride: 1, batchStride: H * T * T, innerStride: T * T },
      a: { operand: { tensor: qkv.chunks, rowStride: 3 * D, colStride: 1, batchStride: T * 3 * D, innerStride: hd }, host: qkvHost, view: qView },
      b: { operand: { tensor: qkv.chunks, offset: D, rowStride: 1, colStride: 3 * D, batchStride: T * 3 * D, innerStride: hd }, host: qkvHost, view: kView },
    });
    for (const t of qkRef) t.release();
    const mapOperand = { rowStride: T, colStride: 1, batchStride: H * T * T, innerStride: T * T };
    const vOperand = { offset: 2 * D, rowStride: 3 * D, colStride: 1, batchStride: T * 3 * D, innerStride: hd };
    const avRef = map.chunks.map((m, i) => {
      const rows = m.shape[0];
      const out = ctx.empty([rows, H, T, hd], 'calib.av');
      matmul(ctx, {
        M: T, N: hd, K: T, batch: rows * H, inner: H, a: { ...mapOperand, tensor: m }, b: { ...vOperand, tensor: qkv.chunks[i] },
        c: { tensor: out, rowStride: hd, batchStride: H * T * hd, innerStride: T * hd },
      });
      return out;
    });
    av = await searchMatmul(ctx, {
      M: T, N: hd, K: T, images: windows, heads: H, bits: abits, rounds, candidates: eqN + 1,
      reference: { tensor: avRef, rowStride: hd, colStride: 1, batchStride: H * T * hd, innerStride: T * hd },
      a: { operand: { ...mapOperand, tensor: map.chunks }, host: mapHost, view: mapView },
      b: { operand: { ...vOperand, tensor: qkv.chunks }, host: qkvHost, view: vView },
    });
    for (const t of avRef) t.release();
  } else {
    qk = { a: minMaxPerGroup(qkvHost, qView, H, abits), b: minMaxPerGroup(qkvHost, kView, H, abits) };
    av = { a: minMaxPerGroup(mapHost, mapView, H, abits), b: minMaxPerGroup(qkvHost, vView, H, abits) };
  }
  return {
    qkv: qkvQ,
    proj: projQ,
    fc1: fc1Q,
    fc2: fc2Q,
    q: expand(qk.a, H, T, abits, [H], [H, T]),
    k: expand(qk.b, H, T, abits, [H], [H, T]),
    attn: expand(av.a, H, T, abits, [H], [H, T]),
    v: expand(av.b, H, hd, abits, [H], [H, hd]),
  };
}

/**
 * Runs `forward` over the `count` rows of x (images, or a stage's tokens) in batches of `batchSize`,
 * with `points` captured (the capture keeps whole images per chunk of `chunking`); keeps the
 * outputs, `out.rowShape` per image, when `out` is given.
 */
export function captureForward(
  ctx: GpuContext, x: RowCache, batchSize: number, chunking: { rowsPerChunk: number }, points: string[],
  forward: (xb: Tensor, capture: CaptureHooks) => Tensor, out: { rowShape: number[]; label: string },
): { capture: CaptureHooks; next: RowCache };
export function captureForward(
  ctx: GpuContext, x: RowCache, batchSize: number, chunking: { rowsPerChunk: number }, points: string[],
  forward: (xb: Tensor, capture: CaptureHooks) => Tensor,
): { capture: CaptureHooks; next: null };
export function captureForward(
  ctx: GpuContext, x: RowCache, batchSize: number, chunking: { rowsPerChunk: number }, points: string[],
  forward: (xb: Tensor, capture: CaptureHooks) => Tensor, out?: { rowShape: number[]; label: string },
): { capture: CaptureHooks; next: RowCache | null } {
  const capture = new CaptureHooks(ctx, x.count, new Set(points), chunking);
  const next = out ? new RowCache(ctx, x.count, out.rowShape, out.label, chunking) : null;
  forBatches(x.count, batchSize, (from, n) => {
    capture.batch(from, n);
    const xb = x.slice(from, n, 'calib.batch');
    const y = forward(xb, capture);
    next?.put(y, from);
    y.release();
    xb.release();
  });
  return { capture, next };
}

/**
 * Calibrates every quantizer of the model on `images` ([count, C, H, W], preprocessed).
 * The checkpoint is not modified; RepQ-ViT's folded LayerNorm and linear parameters are in the
 * result's `floats` and weights.
 */
export async function calibrate(ctx: GpuContext, ckpt: VitCheckpoint, images: Float32Array, count: number, opts: CalibrateOptions): Promise<CalibrationResult> {
  checkBits(opts.wbits, 'wbits');
  checkBits(opts.abits, 'abits');
  const cfg = ckpt.config;
  const eqN = opts.eqN ?? 128;
  const rounds = opts.rounds ?? 3;
  const search = opts.method === 'calib';
  const reparam = opts.reparam ?? (search && opts.wbits === opts.abits);
  const { wbits, abits } = opts;
  const T = cfg.numTokens;
  const D = cfg.embedDim;
  const H = cfg.numHeads;
  const totalSteps = cfg.depth + 2;
  let step = 0;
  const progress = (stage: string) => {
    opts.signal?.throwIfAborted();
    // Each stage's search works on tensors of its own sizes: pooled leftovers would only add up.
    ctx.trimPool();
    opts.onProgress?.(stage, step++, totalSteps);
  };

  // Working copy of the float parameters: RepQ-ViT rewrites LayerNorms and the following linears.
  const weights = new Map(ckpt.weights);
  const model = VitModel.upload(ctx, ckpt);
  // Every per-image tensor of the calibration set is kept in chunks of the same images, each
  // within one storage binding; the searches add the chunks up in image order.
  const chunking = { rowsPerChunk: calibrationChunkImages(cfg, count, ctx.maxBindingBytes) };
  // A batch's forward tensors are per-image tensors too: a batch that would not fit one binding
  // shrinks to a chunk. Only then do the captures depend on the limit (the forward's matmuls may
  // split K by their row count, see `kSlices`).
  const batchSize = Math.min(opts.batchSize ?? 32, chunking.rowsPerChunk);
  const imageT = RowCache.upload(ctx, images, count, [cfg.inChans, cfg.imgSize, cfg.imgSize], 'calib.images', chunking);
  const env: CalibrationEnv = { ctx, weights, search, reparam, wbits, abits, eqN, rounds };

  // Patch embedding: the weight only (the image stays float).
  progress('patch_embed');
  const patchEmbed = await calibratePatchEmbed(env, images, count, cfg, chunking);

  // Float tokens of the whole calibration set.
  let x = captureForward(ctx, imageT, batchSize, chunking, [], (img) => model.embed(img), { rowShape: [T, D], label: 'calib.tokens' }).next;
  imageT.release();

  const blocks: BlockQuant[] = [];
  for (let i = 0; i < cfg.depth; i++) {
    progress(`blocks.${i}`);
    const p = `blocks.${i}`;
    const points = BLOCK_POINTS.map((q) => `${p}.${q}`);
    const { capture, next } = captureForward(ctx, x, batchSize, chunking, points, (xb, c) => model.block(i, xb, c), { rowShape: [T, D], label: `calib.${p}.output` });
    // The forward's batch temporaries are not needed by the searches.
    ctx.trimPool();
    blocks.push(await calibrateBlock(env, p, capture, { windows: count, padded: false, attnTokens: T, mlpTokens: T, dim: D, heads: H, mlpHidden: cfg.mlpHidden }));
    capture.release();
    x.release();
    x = next;
  }

  // Head: per-tensor input quantizer on the final class-token features.
  progress('head');
  const headCapture = captureForward(ctx, x, batchSize, chunking, ['head.input'], (xb, c) => model.headForward(xb, c)).capture;
  x.release();
  const headInput = headCapture.take('head.input');
  const headQ = await calibrateLinear(env, { name: 'head', input: headInput, norm: null, out: cfg.numClasses, in: D });
  headInput.release();
  model.release();
  progress('done');

  const floats = new Map<string, Float32Array>();
  for (const [name, value] of weights) if (!QUANTIZED_WEIGHT.test(name)) floats.set(name, value);
  return {
    quantized: {
      config: cfg,
      floats,
      patchEmbed,
      blocks,
      head: { weight: headQ.weight, input: expand(headQ.input, 1, 1, abits, [1], [1]) },
    },
    reparameterized: weights,
  };
}

/** Image patches as rows [count * patches, C * P * P], in the conv weight's (c, ky, kx) order. */
export function im2col(images: Float32Array, count: number, channels: number, size: number, patch: number): Float32Array {
  const grid = size / patch;
  const cols = channels * patch * patch;
  const out = new Float32Array(count * grid * grid * cols);
  let row = 0;
  for (let b = 0; b < count; b++)
    for (let gy = 0; gy < grid; gy++)
      for (let gx = 0; gx < grid; gx++, row++)
        for (let c = 0; c < channels; c++)
          for (let ky = 0; ky < patch; ky++)
            for (let kx = 0; kx < patch; kx++) {
              out[row * cols + (c * patch + ky) * patch + kx] = images[((b * channels + c) * size + gy * patch + ky) * size + gx * patch + kx];
            }
  return out;
}
