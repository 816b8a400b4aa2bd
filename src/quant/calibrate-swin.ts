/**
 * Stage A (../shared/docs/fimaq-method.md §4) on a Swin: the patch embedding, then stage by stage
 * each patch merging's reduction (per-tensor input, RepQ-ViT folded into its LayerNorm) and each
 * block (calibrateBlock, with attention on every window: token scales per window position), then
 * head.fc on the pooled features (per tensor). The whole model runs in float throughout. Where a
 * stage's grid pads to whole windows, qkv's input is not folded (see BlockGeometry.padded).
 */
import type { SwinCheckpoint } from '../model/checkpoint.js';
import { swinBlocks } from '../model/swin-config.js';
import { SwinModel } from '../model/swin.js';
import type { GpuContext, Tensor } from '../runtime/context.js';
import { checkBits } from '../util/pack.js';
import { type CalibrateOptions, type CalibrationEnv, BLOCK_POINTS, calibrateBlock, calibrateLinear, calibratePatchEmbed, captureForward, expand } from './calibrate.js';
import { type CaptureHooks, RowCache } from './capture.js';
import { calibrationChunkImages } from './memory.js';
import { type BlockQuant, type LinearQuant, QUANTIZED_WEIGHT, type QuantizedSwin } from './quantized-model.js';

export interface SwinCalibrationResult {
  quantized: Omit<QuantizedSwin, 'info' | 'configText'>;
  /** The float parameters after RepQ-ViT folding (with each reduction's bias): the same function as the checkpoint's. */
  reparameterized: Map<string, Float32Array>;
}

export async function calibrateSwin(ctx: GpuContext, ckpt: SwinCheckpoint, images: Float32Array, count: number, opts: CalibrateOptions): Promise<SwinCalibrationResult> {
  checkBits(opts.wbits, 'wbits');
  checkBits(opts.abits, 'abits');
  const cfg = ckpt.config;
  const search = opts.method === 'calib';
  const env: CalibrationEnv = {
    ctx,
    weights: new Map(ckpt.weights),
    search,
    reparam: opts.reparam ?? (search && opts.wbits === opts.abits),
    wbits: opts.wbits,
    abits: opts.abits,
    eqN: opts.eqN ?? 128,
    rounds: opts.rounds ?? 3,
  };
  const blockList = swinBlocks(cfg);
  const totalSteps = 2 + blockList.length + cfg.stages.filter((s) => s.downsample).length;
  let step = 0;
  const progress = (stage: string) => {
    opts.signal?.throwIfAborted();
    ctx.trimPool();
    opts.onProgress?.(stage, step++, totalSteps);
  };
  const model = SwinModel.upload(ctx, ckpt);
  const chunking = { rowsPerChunk: calibrationChunkImages(cfg, count, ctx.maxBindingBytes) };
  const batchSize = Math.min(opts.batchSize ?? 32, chunking.rowsPerChunk);
  const imageT = RowCache.upload(ctx, images, count, [cfg.inChans, cfg.imgSize, cfg.imgSize], 'calib.images', chunking);

  progress('patch_embed');
  const patchEmbed = await calibratePatchEmbed(env, images, count, cfg, chunking);
  let x = captureForward(ctx, imageT, batchSize, chunking, [], (img) => model.embed(img), { rowShape: [cfg.gridSize ** 2, cfg.embedDim], label: 'calib.tokens' }).next;
  imageT.release();

  /** Runs `forward` over the calibration set with the points captured; the outputs replace x. */
  const pass = (points: string[], rowShape: number[], label: string, forward: (xb: Tensor, capture: CaptureHooks) => Tensor): CaptureHooks => {
    const { capture, next } = captureForward(ctx, x, batchSize, chunking, points, forward, { rowShape, label });
    x.release();
    x = next;
    ctx.trimPool();
    return capture;
  };

  const blocks: BlockQuant[] = [];
  const merges: LinearQuant[] = [];
  for (const [i, s] of cfg.stages.entries()) {
    const grid = [s.resolution ** 2, s.dim];
    if (s.downsample) {
      const p = `layers.${i}.downsample`;
      progress(p);
      const capture = pass([`${p}.reduction.input`], grid, `calib.${p}.output`, (xb, c) => model.downsample(i, xb, c));
      const q = await calibrateLinear(env, { name: `${p}.reduction`, input: capture.take(`${p}.reduction.input`), norm: `${p}.norm`, out: s.dim, in: 4 * s.inDim });
      merges.push({ weight: q.weight, input: expand(q.input, 1, 1, env.abits, [1], [1]) });
      capture.release();
    }
    for (const b of blockList.filter((b) => b.stage === i)) {
      progress(b.name);
      const capture = pass(BLOCK_POINTS.map((q) => `${b.name}.${q}`), grid, `calib.${b.name}.output`, (xb, c) => model.block(i, b.index, xb, c));
      const g = s.windowing[b.index % 2]!;
      blocks.push(await calibrateBlock(env, b.name, capture, { windows: count * g.numWindows, padded: g.padded > s.resolution, attnTokens: g.window ** 2, mlpTokens: s.resolution ** 2, dim: s.dim, heads: s.numHeads, mlpHidden: s.mlpHidden }));
      capture.release();
    }
  }

  progress('head');
  const headCapture = captureForward(ctx, x, batchSize, chunking, ['head.input'], (xb, c) => model.headForward(xb, c)).capture;
  x.release();
  const headQ = await calibrateLinear(env, { name: 'head.fc', input: headCapture.take('head.input'), norm: null, out: cfg.numClasses, in: cfg.numFeatures });
  headCapture.release();
  model.release();
  progress('done');

  const floats = new Map<string, Float32Array>();
  for (const [name, value] of env.weights) if (!QUANTIZED_WEIGHT.test(name)) floats.set(name, value);
  return {
    quantized: { config: cfg, floats, patchEmbed, blocks, merges, head: { weight: headQ.weight, input: expand(headQ.input, 1, 1, env.abits, [1], [1]) } },
    reparameterized: env.weights,
  };
}
