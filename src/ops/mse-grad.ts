/** mse-grad: gradient of the self-normalised reconstruction loss L / L0, with L0 read on the GPU. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const mseGradKernel: KernelDescriptor = {
  name: 'mse-grad',
  entryPoint: 'main',
  storage: [
    { name: 'yhat', access: 'read' },
    { name: 'y', access: 'read' },
    { name: 'norm', access: 'read' },
    { name: 'grad', access: 'read_write' },
  ],
  uniforms: [
    { name: 'count', type: 'u32' },
    { name: 'rows', type: 'u32' },
    { name: 'norm_index', type: 'u32' },
  ],
  overrides: { WG: 256 },
};

/**
 * Returns grad (shape of yhat) = 2 (yhat - y) / (rows · norm[normIndex]): the gradient of
 * mse-loss divided by the scalar norm[normIndex] (the loss at iteration 0).
 */
export function mseGrad(ctx: GpuContext, yhat: Tensor, y: Tensor, rows: number, norm: Tensor, normIndex: number, label: string): Tensor {
  if (yhat.size !== y.size) throw new Error(`${label}: yhat has ${yhat.size} values, y ${y.size}`);
  if (!Number.isInteger(rows) || rows < 1 || yhat.size % rows !== 0) throw new Error(`${label}: ${yhat.size} values are not ${rows} rows`);
  if (!Number.isInteger(normIndex) || normIndex < 0 || normIndex >= norm.size) throw new Error(`${label}: index ${normIndex} outside norm[${norm.size}]`);
  const grad = ctx.empty(yhat.shape, label);
  ctx.dispatch(mseGradKernel, { count: yhat.size, rows, norm_index: normIndex }, [yhat, y, norm, grad], gridFor(yhat.size, mseGradKernel.overrides.WG));
  return grad;
}
