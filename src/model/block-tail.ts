/**
 * One float transformer block's forward that keeps what its backward needs, and that backward
 * (dL/dx from dL/dy): the pieces of the Fisher snapshots' float tails (vit-tail.ts, swin-tail.ts).
 * A Swin block is a ViT block whose attention runs on windows: its LayerNorm output is gathered
 * into windows [B·nW, N, C], the scores get the relative position bias (and the shift mask), and
 * the projection is gathered back to the grid. The gathers' backward is the other map of the pair:
 * the partition and the merge maps are each other's inverse on the real tokens, and padding rows
 * are constants without a gradient.
 */
import { add } from '../ops/add.js';
import { attentionContext, attentionScores } from '../ops/attention.js';
import { attentionContextBackward, attentionScoresBackward } from '../ops/attention-backward.js';
import { attentionBias } from '../ops/attention-bias.js';
import { gelu } from '../ops/gelu.js';
import { geluBackward } from '../ops/gelu-backward.js';
import { layerNorm } from '../ops/layer-norm.js';
import { layerNormBackward } from '../ops/layer-norm-backward.js';
import { linearInputGrad } from '../ops/linear-backward.js';
import { linear } from '../ops/matmul.js';
import { softmax } from '../ops/softmax.js';
import { softmaxBackward } from '../ops/softmax-backward.js';
import { tokenGather } from '../ops/token-gather.js';
import type { GpuContext, Tensor } from '../runtime/context.js';
import type { BlockWeights } from './vit.js';

/** A Swin block's windows: its maps (u32, one image's rows), bias [1 or nW, H, N, N] and sizes. */
export interface BlockWindows {
  partition: Tensor;
  merge: Tensor;
  bias: Tensor;
  /** Windows per image (nW) and positions per window (N). */
  count: number;
  size: number;
}

export interface BlockShape {
  heads: number;
  eps: number;
  /** Absent for a ViT block (attention over all tokens). */
  windows?: BlockWindows;
}

/** Grid tokens [B, T, C] -> windows [B·nW, N, C] (or the tokens themselves without windows). */
export function toWindows(ctx: GpuContext, t: Tensor, w: BlockWindows | undefined, label: string): Tensor {
  if (!w) return t;
  const [batch, , cols] = t.shape;
  return tokenGather(ctx, t, w.partition, batch, cols, [batch * w.count, w.size, cols], label);
}

/** Windows [B·nW, N, C] -> grid tokens [B, T, C] (or the tensor itself without windows). */
export function fromWindows(ctx: GpuContext, t: Tensor, w: BlockWindows | undefined, label: string): Tensor {
  if (!w) return t;
  const [rows, , cols] = t.shape;
  const batch = rows / w.count;
  return tokenGather(ctx, t, w.merge, batch, cols, [batch, w.merge.size, cols], label);
}

/** What the backward needs from the forward. */
export interface FloatBlockSaved {
  x: Tensor;
  qkv: Tensor;
  map: Tensor;
  x1: Tensor;
  f1: Tensor;
}

/** y = block(x); keeps x (the caller's, not freed by `releaseSaved`) and the rest. */
export function floatBlockForward(ctx: GpuContext, w: BlockWeights, shape: BlockShape, x: Tensor, prefix: string): { y: Tensor; saved: FloatBlockSaved } {
  const { eps, heads, windows } = shape;
  const h1 = layerNorm(ctx, x, w.norm1.gamma, w.norm1.beta, eps, `${prefix}.norm1`);
  const a = toWindows(ctx, h1, windows, `${prefix}.windows`);
  if (a !== h1) h1.release();
  const qkv = linear(ctx, a, w.qkv.weight, w.qkv.bias, `${prefix}.attn.qkv`);
  a.release();
  const hd = qkv.shape[2]! / 3 / heads;
  const scores = attentionScores(ctx, qkv, heads, `${prefix}.attn.scores`, 1 / Math.sqrt(hd));
  if (windows) attentionBias(ctx, scores, windows.bias);
  const map = softmax(ctx, scores, `${prefix}.attn.softmax`);
  scores.release();
  const ctxOut = attentionContext(ctx, map, qkv, `${prefix}.attn.context`);
  const proj = linear(ctx, ctxOut, w.proj.weight, w.proj.bias, `${prefix}.attn.proj`);
  ctxOut.release();
  const back = fromWindows(ctx, proj, windows, `${prefix}.unwindow`);
  if (back !== proj) proj.release();
  const x1 = add(ctx, x, back, `${prefix}.residual1`);
  back.release();
  const h2 = layerNorm(ctx, x1, w.norm2.gamma, w.norm2.beta, eps, `${prefix}.norm2`);
  const f1 = linear(ctx, h2, w.fc1.weight, w.fc1.bias, `${prefix}.mlp.fc1`);
  h2.release();
  const g = gelu(ctx, f1, `${prefix}.mlp.gelu`);
  const f2 = linear(ctx, g, w.fc2.weight, w.fc2.bias, `${prefix}.mlp.fc2`);
  g.release();
  const y = add(ctx, x1, f2, `${prefix}.residual2`);
  f2.release();
  return { y, saved: { x, qkv, map, x1, f1 } };
}

/** dL/dx from dL/dy (not freed); frees what the forward kept except its input. */
export function floatBlockBackward(ctx: GpuContext, w: BlockWeights, shape: BlockShape, s: FloatBlockSaved, dy: Tensor, prefix: string): Tensor {
  const { eps, heads, windows } = shape;
  const dG = linearInputGrad(ctx, dy, w.fc2.weight, `${prefix}.mlp.fc2.dx`);
  const dF1 = geluBackward(ctx, s.f1, dG, `${prefix}.mlp.gelu.dx`);
  dG.release();
  const dH2 = linearInputGrad(ctx, dF1, w.fc1.weight, `${prefix}.mlp.fc1.dx`);
  dF1.release();
  const dNorm2 = layerNormBackward(ctx, s.x1, w.norm2.gamma, dH2, eps, `${prefix}.norm2.dx`);
  dH2.release();
  const dX1 = add(ctx, dy, dNorm2, `${prefix}.residual1.dx`);
  dNorm2.release();
  const dProj = toWindows(ctx, dX1, windows, `${prefix}.unwindow.dx`);
  const dCtx = linearInputGrad(ctx, dProj, w.proj.weight, `${prefix}.attn.proj.dx`);
  if (dProj !== dX1) dProj.release();
  const dQkv = ctx.empty(s.qkv.shape, `${prefix}.attn.qkv.dy`);
  const dMap = attentionContextBackward(ctx, dCtx, s.map, s.qkv, dQkv, `${prefix}.attn`);
  dCtx.release();
  // The bias is a constant added to the scores: their gradient passes through unchanged.
  const dScores = softmaxBackward(ctx, s.map, dMap, `${prefix}.attn.scores.dy`);
  dMap.release();
  const hd = s.qkv.shape[2]! / 3 / heads;
  attentionScoresBackward(ctx, dScores, s.qkv, dQkv, 1 / Math.sqrt(hd));
  dScores.release();
  const dA = linearInputGrad(ctx, dQkv, w.qkv.weight, `${prefix}.attn.qkv.dx`);
  dQkv.release();
  const dH1 = fromWindows(ctx, dA, windows, `${prefix}.windows.dx`);
  if (dH1 !== dA) dA.release();
  const dNorm1 = layerNormBackward(ctx, s.x, w.norm1.gamma, dH1, eps, `${prefix}.norm1.dx`);
  dH1.release();
  const dx = add(ctx, dX1, dNorm1, `${prefix}.dx`);
  dX1.release();
  dNorm1.release();
  releaseSaved(s);
  return dx;
}

/** Frees what a forward kept, except its input. */
export function releaseSaved(s: FloatBlockSaved): void {
  for (const t of [s.qkv, s.map, s.x1, s.f1]) t.release();
}
