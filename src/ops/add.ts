/** add: element-wise a + alpha * b, used for the residual connections (alpha = 1) and differences. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const addKernel: KernelDescriptor = {
  name: 'add',
  entryPoint: 'main',
  storage: [
    { name: 'a', access: 'read' },
    { name: 'b', access: 'read' },
    { name: 'y', access: 'read_write' },
  ],
  uniforms: [
    { name: 'count', type: 'u32' },
    { name: 'alpha', type: 'f32' },
  ],
  overrides: { WG: 256 },
};

export function add(ctx: GpuContext, a: Tensor, b: Tensor, label: string, alpha = 1): Tensor {
  if (a.size !== b.size) throw new Error(`${label}: adding [${a.shape}] and [${b.shape}]`);
  const y = ctx.empty(a.shape, label);
  ctx.dispatch(addKernel, { count: a.size, alpha }, [a, b, y], gridFor(a.size, addKernel.overrides.WG));
  return y;
}
