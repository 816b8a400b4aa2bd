/**
 * The float rest of a Swin after one unit, with its backward (the Fisher snapshots' tail, as
 * vit-tail.ts for a ViT): logits from the tokens entering step `first` of `swinSteps` (patch
 * mergings and blocks in forward order; first = steps: the head alone), then the gradient of a
 * loss on the logits with respect to those tokens. Patch merging's backward runs the reduction and
 * its LayerNorm backward and gathers the rows back through the inverse of the 2x2 map; the head's
 * runs the fc, the average pool and the final LayerNorm backward.
 */
import { layerNorm } from '../ops/layer-norm.js';
import { layerNormBackward } from '../ops/layer-norm-backward.js';
import { linearInputGrad } from '../ops/linear-backward.js';
import { linear } from '../ops/matmul.js';
import { meanPoolBackward } from '../ops/mean-pool-backward.js';
import { tokenGather } from '../ops/token-gather.js';
import type { Tensor } from '../runtime/context.js';
import { type FloatBlockSaved, floatBlockBackward, floatBlockForward, releaseSaved } from './block-tail.js';
import { type SwinStep, swinSteps } from './swin-config.js';
import type { SwinModel } from './swin.js';

/** What a step's backward needs: a block's saved tensors, or patch merging's gathered rows (its LayerNorm input). */
type StepSaved = { x: Tensor; block: FloatBlockSaved } | { x: Tensor; merged: Tensor };

export class SwinTail {
  private readonly steps: SwinStep[];
  private saved: StepSaved[] = [];
  private head: { x: Tensor } | null = null;

  constructor(readonly model: SwinModel, readonly first: number) {
    this.steps = swinSteps(model.config);
    if (first < 0 || first > this.steps.length) throw new Error(`SwinTail: no step ${first}`);
  }

  /** Logits [B, classes]; keeps the intermediates (and tokens, which the caller must keep alive until backward). */
  forward(tokens: Tensor): Tensor {
    this.release();
    const { ctx, config: cfg } = this.model;
    let x = tokens;
    for (const step of this.steps.slice(this.first)) {
      const p = `tail.${step.name}`;
      if (step.kind === 'block') {
        const { y, saved } = floatBlockForward(ctx, this.model.stages[step.stage]!.blocks[step.index]!, this.model.blockShape(step.stage, step.index), x, p);
        this.saved.push({ x, block: saved });
        x = y;
      } else {
        const { geometry, downsample: d } = this.model.stages[step.stage]!;
        const s = geometry.config;
        const batch = x.shape[0]!;
        const merged = tokenGather(ctx, x, geometry.mergeMap!, batch, s.inDim, [batch, s.resolution ** 2, 4 * s.inDim], `${p}.merge`);
        const n = layerNorm(ctx, merged, d!.norm.gamma, d!.norm.beta, cfg.layerNormEps, `${p}.norm`);
        const y = linear(ctx, n, d!.reduction.weight, d!.reduction.bias, `${p}.reduction`);
        n.release();
        this.saved.push({ x, merged });
        x = y;
      }
    }
    this.head = { x };
    return this.model.headForward(x);
  }

  /** dL/dtokens from dL/dlogits; frees the intermediates. */
  backward(dLogits: Tensor): Tensor {
    if (!this.head) throw new Error('SwinTail: backward without forward');
    const { ctx, config: cfg } = this.model;
    const m = this.model;
    const dPooled = linearInputGrad(ctx, dLogits, m.head.weight, 'tail.head.fc.dx');
    const dNormed = meanPoolBackward(ctx, dPooled, this.head.x.shape[1]!, 'tail.head.pool.dx');
    dPooled.release();
    let dx = layerNormBackward(ctx, this.head.x, m.norm.gamma, dNormed, cfg.layerNormEps, 'tail.norm.dx');
    dNormed.release();
    for (let k = this.saved.length - 1; k >= 0; k--) {
      const step = this.steps[this.first + k]!;
      const s = this.saved[k]!;
      const p = `tail.${step.name}`;
      let next: Tensor;
      if ('block' in s) {
        const st = step as Extract<SwinStep, { kind: 'block' }>;
        next = floatBlockBackward(ctx, m.stages[st.stage]!.blocks[st.index]!, m.blockShape(st.stage, st.index), s.block, dx, p);
      } else {
        const { geometry, downsample: d } = m.stages[step.stage]!;
        const dN = linearInputGrad(ctx, dx, d!.reduction.weight, `${p}.reduction.dx`);
        const dMerged = layerNormBackward(ctx, s.merged, d!.norm.gamma, dN, cfg.layerNormEps, `${p}.norm.dx`);
        dN.release();
        s.merged.release();
        const batch = dx.shape[0]!;
        const inDim = geometry.config.inDim;
        next = tokenGather(ctx, dMerged, geometry.unmergeMap!, batch, inDim, [batch, geometry.unmergeMap!.size, inDim], `${p}.merge.dx`);
        dMerged.release();
      }
      dx.release();
      dx = next;
      if (k > 0) s.x.release();
    }
    this.saved = [];
    this.release();
    return dx;
  }

  /** Frees the intermediates of the last forward (never the caller's tokens). */
  release(): void {
    this.saved.forEach((s, k) => {
      if (k > 0) s.x.release();
      if ('block' in s) releaseSaved(s.block);
      else s.merged.release();
    });
    if (this.head && this.first < this.steps.length) this.head.x.release();
    this.saved = [];
    this.head = null;
  }
}
