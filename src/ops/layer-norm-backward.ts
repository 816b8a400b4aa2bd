/** layer-norm-backward: the input gradient of layer-norm over contiguous rows; gamma and beta are frozen. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const layerNormBackwardKernel: KernelDescriptor = {
  name: 'layer-norm-backward',
  entryPoint: 'main',
  storage: [
    { name: 'x', access: 'read' },
    { name: 'gamma', access: 'read' },
    { name: 'dy', access: 'read' },
    { name: 'dx', access: 'read_write' },
  ],
  uniforms: [
    { name: 'rows', type: 'u32' },
    { name: 'dim', type: 'u32' },
    { name: 'eps', type: 'f32' },
  ],
  overrides: { WG: 64 },
};

/** dx (x's shape) for dy = dL/dy of layerNorm(x, gamma, beta, eps); rows = x.size / gamma.size. */
export function layerNormBackward(ctx: GpuContext, x: Tensor, gamma: Tensor, dy: Tensor, eps: number, label: string): Tensor {
  const dim = gamma.size;
  const rows = x.size / dim;
  const dx = ctx.empty(x.shape, label);
  ctx.dispatch(layerNormBackwardKernel, { rows, dim, eps }, [x, gamma, dy, dx], gridFor(rows, layerNormBackwardKernel.overrides.WG));
  return dx;
}
