/** gelu-backward for the exact erf form. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const geluBackwardKernel: KernelDescriptor = {
  name: 'gelu-backward',
  entryPoint: 'main',
  storage: [
    { name: 'x', access: 'read' },
    { name: 'dy', access: 'read' },
    { name: 'dx', access: 'read_write' },
  ],
  uniforms: [{ name: 'count', type: 'u32' }],
  overrides: { WG: 256 },
};

/** dx = dy * gelu'(x), element-wise, with x's shape. */
export function geluBackward(ctx: GpuContext, x: Tensor, dy: Tensor, label: string): Tensor {
  const dx = ctx.empty(x.shape, label);
  ctx.dispatch(geluBackwardKernel, { count: x.size }, [x, dy, dx], gridFor(x.size, geluBackwardKernel.overrides.WG));
  return dx;
}
