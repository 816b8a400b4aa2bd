/** kl-loss: KL(softmax(target) || softmax(yhat)) averaged over rows (PyTorch kl_div, batchmean). */
import type { GpuContext, Tensor } from '../runtime/context.js';
import type { KernelDescriptor } from '../runtime/kernel.js';

export const klLossKernel: KernelDescriptor = {
  name: 'kl-loss',
  entryPoint: 'main',
  storage: [
    { name: 'yhat', access: 'read' },
    { name: 'target_logits', access: 'read' },
    { name: 'out', access: 'read_write' },
  ],
  uniforms: [
    { name: 'rows', type: 'u32' },
    { name: 'cols', type: 'u32' },
    { name: 'out_index', type: 'u32' },
    { name: 'inv_t', type: 'f32' },
  ],
  // One workgroup does the whole reduction; its tree needs a power of two.
  overrides: { WG: 64 },
};

/**
 * Records out[outIndex] = (1 / rows) Σ_r Σ_c p (log p - log q) with p = softmax(target[r, :] / T) and
 * q = softmax(yhat[r, :] / T) over logits of shape [rows, C]; the other elements of out are left as they are.
 */
export function klLoss(ctx: GpuContext, yhat: Tensor, target: Tensor, rows: number, out: Tensor, outIndex = 0, temperature = 1): void {
  if (yhat.size !== target.size) throw new Error(`kl-loss: yhat has ${yhat.size} values, target ${target.size}`);
  if (!Number.isInteger(rows) || rows < 1 || yhat.size % rows !== 0 || yhat.size === 0) throw new Error(`kl-loss: ${yhat.size} values are not ${rows} rows`);
  if (!Number.isInteger(outIndex) || outIndex < 0 || outIndex >= out.size) throw new Error(`kl-loss: index ${outIndex} outside out[${out.size}]`);
  ctx.dispatch(klLossKernel, { rows, cols: yhat.size / rows, out_index: outIndex, inv_t: 1 / temperature }, [yhat, target, out], [1, 1, 1]);
}
