/** dplr-loss: the low-rank and diagonal terms of the FIMA-Q loss for a minibatch. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import type { KernelDescriptor } from '../runtime/kernel.js';

export const dplrLossKernel: KernelDescriptor = {
  name: 'dplr-loss',
  entryPoint: 'main',
  storage: [
    { name: 'yhat', access: 'read' },
    { name: 'y', access: 'read' },
    { name: 'gbar', access: 'read' },
    { name: 'a', access: 'read' },
    { name: 'c', access: 'read' },
    { name: 'out', access: 'read_write' },
  ],
  uniforms: [
    { name: 'rows', type: 'u32' },
    { name: 'cols', type: 'u32' },
    { name: 'rank', type: 'u32' },
  ],
  // One workgroup does the whole reduction; its tree needs a power of two.
  overrides: { WG: 256 },
};

/**
 * out[0] = (1/B) Σ A∘C (the low-rank term, with A = |yhat - y|.Gᵀ and C = A.Binv, both [B, rank]),
 * out[1] = (1/(B D)) Σ gbar[d] (yhat - y)² (the diagonal term); yhat, y are [B, D].
 */
export function dplrLoss(ctx: GpuContext, yhat: Tensor, y: Tensor, gbar: Tensor, a: Tensor, c: Tensor, out: Tensor): void {
  const cols = gbar.size;
  const rows = yhat.size / cols;
  if (!Number.isInteger(rows) || y.size !== yhat.size) throw new Error(`dplr-loss: yhat ${yhat.size}, y ${y.size} are not rows of ${cols}`);
  if (a.size !== c.size || a.size % rows !== 0) throw new Error(`dplr-loss: A and C must both be [${rows}, rank]`);
  if (out.size < 2) throw new Error('dplr-loss: out needs two elements');
  ctx.dispatch(dplrLossKernel, { rows, cols, rank: a.size / rows }, [yhat, y, gbar, a, c, out], [1, 1, 1]);
}
