/** abs-diff: element-wise |x - y|. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const absDiffKernel: KernelDescriptor = {
  name: 'abs-diff',
  entryPoint: 'main',
  storage: [
    { name: 'x', access: 'read' },
    { name: 'y', access: 'read' },
    { name: 'out', access: 'read_write' },
  ],
  uniforms: [{ name: 'count', type: 'u32' }],
  overrides: { WG: 256 },
};

export function absDiff(ctx: GpuContext, x: Tensor, y: Tensor, label: string): Tensor {
  if (x.size !== y.size) throw new Error(`${label}: x has ${x.size} values, y ${y.size}`);
  const out = ctx.empty(x.shape, label);
  ctx.dispatch(absDiffKernel, { count: x.size }, [x, y, out], gridFor(x.size, absDiffKernel.overrides.WG));
  return out;
}
