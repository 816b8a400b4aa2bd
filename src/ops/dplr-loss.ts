/** dplr-loss: the low-rank and diagonal terms of the FIMA-Q loss for a minibatch, in two passes. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';
import { partialCount, reducePartials } from './reduce-partials.js';

export const dplrLossKernel: KernelDescriptor = {
  name: 'dplr-loss',
  entryPoint: 'main',
  storage: [
    { name: 'yhat', access: 'read' },
    { name: 'y', access: 'read' },
    { name: 'gbar', access: 'read' },
    { name: 'a', access: 'read' },
    { name: 'c', access: 'read' },
    { name: 'partial', access: 'read_write' },
  ],
  uniforms: [
    { name: 'rows', type: 'u32' },
    { name: 'cols', type: 'u32' },
    { name: 'rank', type: 'u32' },
    { name: 'parts', type: 'u32' },
  ],
  overrides: { WG: 64 },
  libraries: ['reduction'],
};

/**
 * out[0] = (1/B) Σ A∘C (the low-rank term, with A = |yhat - y|.Gᵀ and C = A.Binv, both [B, rank]),
 * out[1] = (1/(B D)) Σ gbar[d] (yhat - y)² (the diagonal term); yhat, y are [B, D]. With
 * `diagPerRow` the diagonal term is divided by B alone: eig-fim's quadratic form, where A = C =
 * (yhat - y).Vᵀ and gbar is its diagonal d.
 */
export function dplrLoss(ctx: GpuContext, yhat: Tensor, y: Tensor, gbar: Tensor, a: Tensor, c: Tensor, out: Tensor, diagPerRow = false): void {
  const cols = gbar.size;
  const rows = yhat.size / cols;
  if (!Number.isInteger(rows) || y.size !== yhat.size) throw new Error(`dplr-loss: yhat ${yhat.size}, y ${y.size} are not rows of ${cols}`);
  if (a.size !== c.size || a.size % rows !== 0) throw new Error(`dplr-loss: A and C must both be [${rows}, rank]`);
  if (out.size < 2) throw new Error('dplr-loss: out needs two elements');
  const parts = partialCount(yhat.size);
  const partial = ctx.empty([2, parts], 'dplr-loss.partial');
  ctx.dispatch(dplrLossKernel, { rows, cols, rank: a.size / rows, parts }, [yhat, y, gbar, a, c, partial], gridFor(parts, dplrLossKernel.overrides.WG));
  reducePartials(ctx, partial, parts, [rows, diagPerRow ? rows : rows * cols], out, 0, 'dplr-loss');
  partial.release();
}
