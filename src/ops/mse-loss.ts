/** mse-loss: the reconstruction loss (1/B) Σ (yhat - y)², reduced deterministically on the GPU. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import type { KernelDescriptor } from '../runtime/kernel.js';

export const mseLossKernel: KernelDescriptor = {
  name: 'mse-loss',
  entryPoint: 'main',
  storage: [
    { name: 'yhat', access: 'read' },
    { name: 'y', access: 'read' },
    { name: 'weight', access: 'read' },
    { name: 'out', access: 'read_write' },
  ],
  uniforms: [
    { name: 'count', type: 'u32' },
    { name: 'rows', type: 'u32' },
    { name: 'out_index', type: 'u32' },
  ],
  // One workgroup does the whole reduction; its tree needs a power of two.
  overrides: { WG: 256, HAS_WEIGHT: 0 },
};

/**
 * Records out[outIndex] = (1 / rows) Σ_i (weight[i] (yhat[i] - y[i]))² over all elements of yhat
 * (rows x D; weight 1 when not given); the other elements of out are left as they are.
 */
export function mseLoss(ctx: GpuContext, yhat: Tensor, y: Tensor, rows: number, out: Tensor, outIndex = 0, weight?: Tensor): void {
  if (yhat.size !== y.size) throw new Error(`mse-loss: yhat has ${yhat.size} values, y ${y.size}`);
  if (!Number.isInteger(rows) || rows < 1 || yhat.size % rows !== 0) throw new Error(`mse-loss: ${yhat.size} values are not ${rows} rows`);
  if (!Number.isInteger(outIndex) || outIndex < 0 || outIndex >= out.size) throw new Error(`mse-loss: index ${outIndex} outside out[${out.size}]`);
  if (weight && weight.size !== yhat.size) throw new Error(`mse-loss: weight has ${weight.size} values, yhat ${yhat.size}`);
  ctx.dispatch(mseLossKernel, { count: yhat.size, rows, out_index: outIndex }, [yhat, y, weight ?? ctx.placeholder, out], [1, 1, 1], { HAS_WEIGHT: weight ? 1 : 0 });
}
