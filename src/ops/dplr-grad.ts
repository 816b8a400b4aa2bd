/** dplr-grad: the gradient of the self-normalised FIMA-Q loss with respect to the unit's output. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const dplrGradKernel: KernelDescriptor = {
  name: 'dplr-grad',
  entryPoint: 'main',
  storage: [
    { name: 'yhat', access: 'read' },
    { name: 'y', access: 'read' },
    { name: 'gbar', access: 'read' },
    { name: 'e', access: 'read' },
    { name: 'norm', access: 'read' },
    { name: 'grad', access: 'read_write' },
  ],
  uniforms: [
    { name: 'rows', type: 'u32' },
    { name: 'cols', type: 'u32' },
    { name: 'p1', type: 'f32' },
    { name: 'p2', type: 'f32' },
  ],
  overrides: { WG: 256 },
};

/**
 * dL/dyhat for L = p1 L_LR / norm[0] + p2 L_Diag / norm[1], given E = A.Binv.G [B, D] (see
 * dplr-loss). A term with weight 0 is skipped, and so is its normaliser.
 */
export function dplrGrad(ctx: GpuContext, yhat: Tensor, y: Tensor, gbar: Tensor, e: Tensor, norm: Tensor, p1: number, p2: number, label: string): Tensor {
  const cols = gbar.size;
  const rows = yhat.size / cols;
  if (!Number.isInteger(rows) || y.size !== yhat.size || e.size !== yhat.size) throw new Error(`${label}: yhat, y and E must all be [rows, ${cols}]`);
  const grad = ctx.empty(yhat.shape, label);
  ctx.dispatch(dplrGradKernel, { rows, cols, p1, p2 }, [yhat, y, gbar, e, norm, grad], gridFor(yhat.size, dplrGradKernel.overrides.WG));
  return grad;
}
