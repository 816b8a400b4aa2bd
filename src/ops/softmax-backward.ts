/** softmax-backward over the last dimension, from the softmax output. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const softmaxBackwardKernel: KernelDescriptor = {
  name: 'softmax-backward',
  entryPoint: 'main',
  storage: [
    { name: 'y', access: 'read' },
    { name: 'dy', access: 'read' },
    { name: 'dx', access: 'read_write' },
  ],
  uniforms: [
    { name: 'rows', type: 'u32' },
    { name: 'cols', type: 'u32' },
  ],
  overrides: { WG: 64 },
};

/** dx (y's shape) for dy = dL/dy, where y = softmax(x) over the last dimension. */
export function softmaxBackward(ctx: GpuContext, y: Tensor, dy: Tensor, label: string): Tensor {
  const cols = y.shape[y.shape.length - 1];
  const rows = y.size / cols;
  const dx = ctx.empty(y.shape, label);
  ctx.dispatch(softmaxBackwardKernel, { rows, cols }, [y, dy, dx], gridFor(rows, softmaxBackwardKernel.overrides.WG));
  return dx;
}
