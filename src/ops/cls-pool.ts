/** cls-pool: class-token pooling [B, T, D] -> [B, D]. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const clsPoolKernel: KernelDescriptor = {
  name: 'cls-pool',
  entryPoint: 'main',
  storage: [
    { name: 'x', access: 'read' },
    { name: 'out', access: 'read_write' },
  ],
  uniforms: ['batch', 'tokens', 'dim'].map((name) => ({ name, type: 'u32' as const })),
  overrides: { WG: 256 },
  // Reads only the class-token rows of x.
  cost: ({ uniforms: u }) => ({ flops: 0, bytes: 8 * u.batch * u.dim }),
};

export function clsPool(ctx: GpuContext, x: Tensor, label: string): Tensor {
  const [batch, tokens, dim] = x.shape;
  const out = ctx.empty([batch, dim], label);
  ctx.dispatch(clsPoolKernel, { batch, tokens, dim }, [x, out], gridFor(out.size, clsPoolKernel.overrides.WG));
  return out;
}
