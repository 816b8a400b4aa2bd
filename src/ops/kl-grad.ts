/** kl-grad: gradient of kl-loss with respect to the predicted logits, (softmax(yhat) - softmax(target)) / rows. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const klGradKernel: KernelDescriptor = {
  name: 'kl-grad',
  entryPoint: 'main',
  storage: [
    { name: 'yhat', access: 'read' },
    { name: 'target_logits', access: 'read' },
    { name: 'grad', access: 'read_write' },
  ],
  uniforms: [
    { name: 'rows', type: 'u32' },
    { name: 'cols', type: 'u32' },
    { name: 'inv_t', type: 'f32' },
  ],
  // One workgroup per row; its tree reductions need a power of two.
  overrides: { WG: 64 },
  libraries: ['reduction'],
};

/**
 * Returns grad (shape of yhat, [rows, C]) = (softmax(yhat[r, :] / T) - softmax(target[r, :] / T)) / (rows T),
 * the gradient of klLoss with the same temperature T.
 */
export function klGrad(ctx: GpuContext, yhat: Tensor, target: Tensor, rows: number, label: string, temperature = 1): Tensor {
  if (yhat.size !== target.size) throw new Error(`${label}: yhat has ${yhat.size} values, target ${target.size}`);
  if (!Number.isInteger(rows) || rows < 1 || yhat.size % rows !== 0 || yhat.size === 0) throw new Error(`${label}: ${yhat.size} values are not ${rows} rows`);
  const grad = ctx.empty(yhat.shape, label);
  ctx.dispatch(klGradKernel, { rows, cols: yhat.size / rows, inv_t: 1 / temperature }, [yhat, target, grad], gridFor(rows, 1));
  return grad;
}
