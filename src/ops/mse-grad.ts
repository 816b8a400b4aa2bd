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
    { name: 'weight', access: 'read' },
    { name: 'grad', access: 'read_write' },
  ],
  uniforms: [
    { name: 'count', type: 'u32' },
    { name: 'rows', type: 'u32' },
    { name: 'norm_index', type: 'u32' },
  ],
  overrides: { WG: 256, HAS_WEIGHT: 0 },
};

/**
 * Returns grad (shape of yhat) = 2 (yhat - y) / (rows · norm[normIndex]) (times weight² when
 * given): the gradient of mse-loss divided by the scalar norm[normIndex] (the loss at iteration 0).
 */
export function mseGrad(ctx: GpuContext, yhat: Tensor, y: Tensor, rows: number, norm: Tensor, normIndex: number, label: string, weight?: Tensor): Tensor {
  if (yhat.size !== y.size) throw new Error(`${label}: yhat has ${yhat.size} values, y ${y.size}`);
  if (!Number.isInteger(rows) || rows < 1 || yhat.size % rows !== 0) throw new Error(`${label}: ${yhat.size} values are not ${rows} rows`);
  if (!Number.isInteger(normIndex) || normIndex < 0 || normIndex >= norm.size) throw new Error(`${label}: index ${normIndex} outside norm[${norm.size}]`);
  if (weight && weight.size !== yhat.size) throw new Error(`${label}: weight has ${weight.size} values, yhat ${yhat.size}`);
  const grad = ctx.empty(yhat.shape, label);
  ctx.dispatch(mseGradKernel, { count: yhat.size, rows, norm_index: normIndex }, [yhat, y, norm, weight ?? ctx.placeholder, grad], gridFor(yhat.size, mseGradKernel.overrides.WG), {
    HAS_WEIGHT: weight ? 1 : 0,
  });
  return grad;
}
