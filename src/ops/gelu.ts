/** gelu, exact erf form. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const geluKernel: KernelDescriptor = {
  name: 'gelu',
  entryPoint: 'main',
  storage: [
    { name: 'x', access: 'read' },
    { name: 'y', access: 'read_write' },
  ],
  uniforms: [{ name: 'count', type: 'u32' }],
  overrides: { WG: 256 },
  libraries: ['gelu-erf'],
};

export function gelu(ctx: GpuContext, x: Tensor, label: string): Tensor {
  const y = ctx.empty(x.shape, label);
  ctx.dispatch(geluKernel, { count: x.size }, [x, y], gridFor(x.size, geluKernel.overrides.WG));
  return y;
}
