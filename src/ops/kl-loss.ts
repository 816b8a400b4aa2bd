/** kl-loss: KL(softmax(target) || softmax(yhat)) averaged over rows (PyTorch kl_div, batchmean), in two passes. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';
import { partialCount, reducePartials } from './reduce-partials.js';

export const klLossKernel: KernelDescriptor = {
  name: 'kl-loss',
  entryPoint: 'main',
  storage: [
    { name: 'yhat', access: 'read' },
    { name: 'target_logits', access: 'read' },
    { name: 'partial', access: 'read_write' },
  ],
  uniforms: [
    { name: 'rows', type: 'u32' },
    { name: 'cols', type: 'u32' },
    { name: 'inv_t', type: 'f32' },
    { name: 'parts', type: 'u32' },
  ],
  overrides: { WG: 64 },
  libraries: ['reduction'],
};

/**
 * Records out[outIndex] = (1 / rows) Σ_r Σ_c p (log p - log q) with p = softmax(target[r, :] / T) and
 * q = softmax(yhat[r, :] / T) over logits of shape [rows, C]; the other elements of out are left as they are.
 */
export function klLoss(ctx: GpuContext, yhat: Tensor, target: Tensor, rows: number, out: Tensor, outIndex = 0, temperature = 1): void {
  if (yhat.size !== target.size) throw new Error(`kl-loss: yhat has ${yhat.size} values, target ${target.size}`);
  if (!Number.isInteger(rows) || rows < 1 || yhat.size % rows !== 0 || yhat.size === 0) throw new Error(`kl-loss: ${yhat.size} values are not ${rows} rows`);
  if (!Number.isInteger(outIndex) || outIndex < 0 || outIndex >= out.size) throw new Error(`kl-loss: index ${outIndex} outside out[${out.size}]`);
  // One invocation per row, up to the partials' limit.
  const parts = partialCount(rows, 1);
  const partial = ctx.empty([parts], 'kl-loss.partial');
  ctx.dispatch(klLossKernel, { rows, cols: yhat.size / rows, inv_t: 1 / temperature, parts }, [yhat, target, partial], gridFor(parts, klLossKernel.overrides.WG));
  reducePartials(ctx, partial, parts, [rows], out, outIndex, 'kl-loss');
  partial.release();
}
