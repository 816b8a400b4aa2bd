/** mse-loss: the reconstruction loss (1/B) Σ (yhat - y)², reduced deterministically on the GPU in two passes. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';
import { partialCount, reducePartials } from './reduce-partials.js';

export const mseLossKernel: KernelDescriptor = {
  name: 'mse-loss',
  entryPoint: 'main',
  storage: [
    { name: 'yhat', access: 'read' },
    { name: 'y', access: 'read' },
    { name: 'weight', access: 'read' },
    { name: 'partial', access: 'read_write' },
  ],
  uniforms: [
    { name: 'count', type: 'u32' },
    { name: 'parts', type: 'u32' },
  ],
  overrides: { WG: 64, HAS_WEIGHT: 0 },
  libraries: ['reduction'],
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
  const parts = partialCount(yhat.size);
  const partial = ctx.empty([parts], 'mse-loss.partial');
  ctx.dispatch(mseLossKernel, { count: yhat.size, parts }, [yhat, y, weight ?? ctx.placeholder, partial], gridFor(parts, mseLossKernel.overrides.WG), {
    HAS_WEIGHT: weight ? 1 : 0,
  });
  reducePartials(ctx, partial, parts, [rows], out, outIndex, 'mse-loss');
  partial.release();
}
