/**
 * The float rest of a ViT after one unit, with its backward: logits from the tokens entering
 * block `first` (first = depth: the head alone), keeping every intermediate, then the gradient of
 * a loss on the logits with respect to those tokens. This is the "backpropagate through every later
 * block and the head" of the method's Fisher snapshots (../shared/docs/fimaq-method.md §6.2).
 */
import { add } from '../ops/add.js';
import { attentionContext, attentionScores } from '../ops/attention.js';
import { attentionContextBackward, attentionScoresBackward } from '../ops/attention-backward.js';
import { clsPool } from '../ops/cls-pool.js';
import { clsPoolBackward } from '../ops/cls-pool-backward.js';
import { gelu } from '../ops/gelu.js';
import { geluBackward } from '../ops/gelu-backward.js';
import { layerNorm } from '../ops/layer-norm.js';
import { layerNormBackward } from '../ops/layer-norm-backward.js';
import { linearInputGrad } from '../ops/linear-backward.js';
import { linear } from '../ops/matmul.js';
import { softmax } from '../ops/softmax.js';
import { softmaxBackward } from '../ops/softmax-backward.js';
import type { Tensor } from '../runtime/context.js';
import type { VitModel } from './vit.js';

/** What a float block's backward needs from its forward. */
interface BlockSaved {
  x: Tensor;
  h1: Tensor;
  qkv: Tensor;
  map: Tensor;
  heads: Tensor;
  x1: Tensor;
  h2: Tensor;
  f1: Tensor;
  g: Tensor;
}

export class VitTail {
  private blocks: BlockSaved[] = [];
  private head: { x: Tensor; pooled: Tensor; normed: Tensor } | null = null;

  constructor(readonly model: VitModel, readonly first: number) {
    if (first < 0 || first > model.config.depth) throw new Error(`VitTail: no block ${first}`);
  }

  /** Logits [B, classes]; keeps the intermediates (and tokens, which the caller must keep alive until backward). */
  forward(tokens: Tensor): Tensor {
    this.release();
    const { ctx, config: cfg } = this.model;
    const eps = cfg.layerNormEps;
    const hd = cfg.embedDim / cfg.numHeads;
    let x = tokens;
    for (let i = this.first; i < cfg.depth; i++) {
      const w = this.model.blocks[i];
      const p = `tail.blocks.${i}`;
      const h1 = layerNorm(ctx, x, w.norm1.gamma, w.norm1.beta, eps, `${p}.norm1`);
      const qkv = linear(ctx, h1, w.qkv.weight, w.qkv.bias, `${p}.attn.qkv`);
      const scores = attentionScores(ctx, qkv, cfg.numHeads, `${p}.attn.scores`, 1 / Math.sqrt(hd));
      const map = softmax(ctx, scores, `${p}.attn.softmax`);
      scores.release();
      const heads = attentionContext(ctx, map, qkv, `${p}.attn.context`);
      const proj = linear(ctx, heads, w.proj.weight, w.proj.bias, `${p}.attn.proj`);
      const x1 = add(ctx, x, proj, `${p}.residual1`);
      proj.release();
      const h2 = layerNorm(ctx, x1, w.norm2.gamma, w.norm2.beta, eps, `${p}.norm2`);
      const f1 = linear(ctx, h2, w.fc1.weight, w.fc1.bias, `${p}.mlp.fc1`);
      const g = gelu(ctx, f1, `${p}.mlp.gelu`);
      const f2 = linear(ctx, g, w.fc2.weight, w.fc2.bias, `${p}.mlp.fc2`);
      const y = add(ctx, x1, f2, `${p}.residual2`);
      f2.release();
      this.blocks.push({ x, h1, qkv, map, heads, x1, h2, f1, g });
      x = y;
    }
    const pooled = clsPool(ctx, x, 'tail.cls_pool');
    const normed = layerNorm(ctx, pooled, this.model.norm.gamma, this.model.norm.beta, eps, 'tail.norm');
    this.head = { x, pooled, normed };
    return linear(ctx, normed, this.model.head.weight, this.model.head.bias, 'tail.head');
  }

  /** dL/dtokens [B, T, D] from dL/dlogits; frees the intermediates. */
  backward(dLogits: Tensor): Tensor {
    if (!this.head) throw new Error('VitTail: backward without forward');
    const { ctx, config: cfg } = this.model;
    const eps = cfg.layerNormEps;
    const hd = cfg.embedDim / cfg.numHeads;
    const dNormed = linearInputGrad(ctx, dLogits, this.model.head.weight, 'tail.head.dx');
    const dPooled = layerNormBackward(ctx, this.head.pooled, this.model.norm.gamma, dNormed, eps, 'tail.norm.dx');
    dNormed.release();
    let dx = clsPoolBackward(ctx, dPooled, cfg.numTokens, 'tail.cls_pool.dx');
    dPooled.release();
    for (let k = this.blocks.length - 1; k >= 0; k--) {
      const s = this.blocks[k];
      const w = this.model.blocks[this.first + k];
      const p = `tail.blocks.${this.first + k}`;
      const dG = linearInputGrad(ctx, dx, w.fc2.weight, `${p}.mlp.fc2.dx`);
      const dF1 = geluBackward(ctx, s.f1, dG, `${p}.mlp.gelu.dx`);
      dG.release();
      const dH2 = linearInputGrad(ctx, dF1, w.fc1.weight, `${p}.mlp.fc1.dx`);
      dF1.release();
      const dNorm2 = layerNormBackward(ctx, s.x1, w.norm2.gamma, dH2, eps, `${p}.norm2.dx`);
      dH2.release();
      const dX1 = add(ctx, dx, dNorm2, `${p}.residual1.dx`);
      dNorm2.release();
      dx.release();
      const dHeads = linearInputGrad(ctx, dX1, w.proj.weight, `${p}.attn.proj.dx`);
      const dQkv = ctx.empty(s.qkv.shape, `${p}.attn.qkv.dy`);
      const dMap = attentionContextBackward(ctx, dHeads, s.map, s.qkv, dQkv, `${p}.attn`);
      dHeads.release();
      const dScores = softmaxBackward(ctx, s.map, dMap, `${p}.attn.scores.dy`);
      dMap.release();
      attentionScoresBackward(ctx, dScores, s.qkv, dQkv, 1 / Math.sqrt(hd));
      dScores.release();
      const dH1 = linearInputGrad(ctx, dQkv, w.qkv.weight, `${p}.attn.qkv.dx`);
      dQkv.release();
      const dNorm1 = layerNormBackward(ctx, s.x, w.norm1.gamma, dH1, eps, `${p}.norm1.dx`);
      dH1.release();
      dx = add(ctx, dX1, dNorm1, `${p}.dx`);
      dX1.release();
      dNorm1.release();
    }
    this.release();
    return dx;
  }

  /** Frees the intermediates of the last forward (never the caller's tokens). */
  release(): void {
    this.blocks.forEach((s, k) => {
      if (k > 0) s.x.release();
      for (const t of [s.h1, s.qkv, s.map, s.heads, s.x1, s.h2, s.f1, s.g]) t.release();
    });
    if (this.head) {
      if (this.blocks.length > 0) this.head.x.release();
      this.head.pooled.release();
      this.head.normed.release();
    }
    this.blocks = [];
    this.head = null;
  }
}
