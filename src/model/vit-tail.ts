/**
 * The float rest of a ViT after one unit, with its backward: logits from the tokens entering
 * block `first` (first = depth: the head alone), keeping every intermediate, then the gradient of
 * a loss on the logits with respect to those tokens. This is the "backpropagate through every later
 * block and the head" of the method's Fisher snapshots (../shared/docs/fimaq-method.md §6.2).
 */
import { clsPool } from '../ops/cls-pool.js';
import { clsPoolBackward } from '../ops/cls-pool-backward.js';
import { layerNorm } from '../ops/layer-norm.js';
import { layerNormBackward } from '../ops/layer-norm-backward.js';
import { linearInputGrad } from '../ops/linear-backward.js';
import { linear } from '../ops/matmul.js';
import type { Tensor } from '../runtime/context.js';
import { type BlockShape, type FloatBlockSaved, floatBlockBackward, floatBlockForward, releaseSaved } from './block-tail.js';
import type { VitModel } from './vit.js';

export class VitTail {
  private blocks: FloatBlockSaved[] = [];
  private head: { x: Tensor; pooled: Tensor } | null = null;

  constructor(readonly model: VitModel, readonly first: number) {
    if (first < 0 || first > model.config.depth) throw new Error(`VitTail: no block ${first}`);
  }

  private get shape(): BlockShape {
    return { heads: this.model.config.numHeads, eps: this.model.config.layerNormEps };
  }

  /** Logits [B, classes]; keeps the intermediates (and tokens, which the caller must keep alive until backward). */
  forward(tokens: Tensor): Tensor {
    this.release();
    const { ctx, config: cfg } = this.model;
    let x = tokens;
    for (let i = this.first; i < cfg.depth; i++) {
      const { y, saved } = floatBlockForward(ctx, this.model.blocks[i], this.shape, x, `tail.blocks.${i}`);
      this.blocks.push(saved);
      x = y;
    }
    const pooled = clsPool(ctx, x, 'tail.cls_pool');
    const normed = layerNorm(ctx, pooled, this.model.norm.gamma, this.model.norm.beta, cfg.layerNormEps, 'tail.norm');
    this.head = { x, pooled };
    const logits = linear(ctx, normed, this.model.head.weight, this.model.head.bias, 'tail.head');
    normed.release();
    return logits;
  }

  /** dL/dtokens [B, T, D] from dL/dlogits; frees the intermediates. */
  backward(dLogits: Tensor): Tensor {
    if (!this.head) throw new Error('VitTail: backward without forward');
    const { ctx, config: cfg } = this.model;
    const dNormed = linearInputGrad(ctx, dLogits, this.model.head.weight, 'tail.head.dx');
    const dPooled = layerNormBackward(ctx, this.head.pooled, this.model.norm.gamma, dNormed, cfg.layerNormEps, 'tail.norm.dx');
    dNormed.release();
    let dx = clsPoolBackward(ctx, dPooled, cfg.numTokens, 'tail.cls_pool.dx');
    dPooled.release();
    for (let k = this.blocks.length - 1; k >= 0; k--) {
      const i = this.first + k;
      const next = floatBlockBackward(ctx, this.model.blocks[i], this.shape, this.blocks[k], dx, `tail.blocks.${i}`);
      dx.release();
      dx = next;
      if (k > 0) this.blocks[k].x.release();
    }
    this.blocks = [];
    this.release();
    return dx;
  }

  /** Frees the intermediates of the last forward (never the caller's tokens). */
  release(): void {
    this.blocks.forEach((s, k) => {
      if (k > 0) s.x.release();
      releaseSaved(s);
    });
    if (this.head) {
      if (this.first < this.model.config.depth) this.head.x.release();
      this.head.pooled.release();
    }
    this.blocks = [];
    this.head = null;
  }
}
