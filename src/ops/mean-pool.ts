/** mean-pool: average over tokens [B, T, D] -> [B, D] (Swin's global average pooling). */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const meanPoolKernel: KernelDescriptor = {
  name: 'mean-pool',
  entryPoint: 'main',
  storage: [
    { name: 'x', access: 'read' },
    { name: 'out', access: 'read_write' },
  ],
  uniforms: ['batch', 'tokens', 'dim'].map((name) => ({ name, type: 'u32' as const })),
  overrides: { WG: 256 },
  cost: ({ uniforms: u }) => ({ flops: u.batch * u.tokens * u.dim, bytes: 4 * u.batch * (u.tokens + 1) * u.dim }),
};

export function meanPool(ctx: GpuContext, x: Tensor, label: string): Tensor {
  const [batch, tokens, dim] = x.shape;
  const out = ctx.empty([batch, dim], label);
  ctx.dispatch(meanPoolKernel, { batch, tokens, dim }, [x, out], gridFor(out.size, meanPoolKernel.overrides.WG));
  return out;
}
