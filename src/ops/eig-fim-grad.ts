/** eig-fim-grad: the gradient of the self-normalised eig-fim loss with respect to the unit's output. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const eigFimGradKernel: KernelDescriptor = {
  name: 'eig-fim-grad',
  entryPoint: 'main',
  storage: [
    { name: 'yhat', access: 'read' },
    { name: 'y', access: 'read' },
    { name: 'diag', access: 'read' },
    { name: 'e', access: 'read' },
    { name: 'norm', access: 'read' },
    { name: 'grad', access: 'read_write' },
  ],
  uniforms: [
    { name: 'rows', type: 'u32' },
    { name: 'cols', type: 'u32' },
    { name: 'weight', type: 'f32' },
  ],
  overrides: { WG: 256 },
};

/**
 * dL/dyhat for L = weight (L_LR + L_Diag) / (norm[0] + norm[1]), given E = ((yhat - y).Vᵀ).V [B, D]
 * and the diagonal d [D] (see eig-fim-grad.wgsl).
 */
export function eigFimGrad(ctx: GpuContext, yhat: Tensor, y: Tensor, diag: Tensor, e: Tensor, norm: Tensor, weight: number, label: string): Tensor {
  const cols = diag.size;
  const rows = yhat.size / cols;
  if (!Number.isInteger(rows) || y.size !== yhat.size || e.size !== yhat.size) throw new Error(`${label}: yhat, y and E must all be [rows, ${cols}]`);
  if (norm.size < 2) throw new Error(`${label}: norm needs two elements`);
  const grad = ctx.empty(yhat.shape, label);
  ctx.dispatch(eigFimGradKernel, { rows, cols, weight }, [yhat, y, diag, e, norm, grad], gridFor(yhat.size, eigFimGradKernel.overrides.WG));
  return grad;
}
