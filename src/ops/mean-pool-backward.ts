/** mean-pool-backward: the pooled gradient [B, D] shared equally by every token [B, T, D]. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const meanPoolBackwardKernel: KernelDescriptor = {
  name: 'mean-pool-backward',
  entryPoint: 'main',
  storage: [
    { name: 'dy', access: 'read' },
    { name: 'dx', access: 'read_write' },
  ],
  uniforms: ['batch', 'tokens', 'dim'].map((name) => ({ name, type: 'u32' as const })),
  overrides: { WG: 256 },
  cost: ({ uniforms: u }) => ({ flops: u.batch * u.tokens * u.dim, bytes: 4 * u.batch * (u.tokens + 1) * u.dim }),
};

/** dx [B, tokens, D] from dy [B, D]. */
export function meanPoolBackward(ctx: GpuContext, dy: Tensor, tokens: number, label: string): Tensor {
  const [batch, dim] = dy.shape;
  const dx = ctx.empty([batch, tokens, dim], label);
  ctx.dispatch(meanPoolBackwardKernel, { batch, tokens, dim }, [dy, dx], gridFor(dx.size, meanPoolBackwardKernel.overrides.WG));
  return dx;
}
