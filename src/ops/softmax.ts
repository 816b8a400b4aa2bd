/** softmax over the last dimension. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const softmaxKernel: KernelDescriptor = {
  name: 'softmax',
  entryPoint: 'main',
  storage: [
    { name: 'x', access: 'read' },
    { name: 'y', access: 'read_write' },
  ],
  uniforms: [
    { name: 'rows', type: 'u32' },
    { name: 'cols', type: 'u32' },
  ],
  overrides: { WG: 64 },
};

export function softmax(ctx: GpuContext, x: Tensor, label: string): Tensor {
  const cols = x.shape[x.shape.length - 1];
  const rows = x.size / cols;
  const y = ctx.empty(x.shape, label);
  ctx.dispatch(softmaxKernel, { rows, cols }, [x, y], gridFor(rows, softmaxKernel.overrides.WG));
  return y;
}
