/** cls-pool-backward: scatters the pooled gradient back to the class token; other tokens get 0. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const clsPoolBackwardKernel: KernelDescriptor = {
  name: 'cls-pool-backward',
  entryPoint: 'main',
  storage: [
    { name: 'dy', access: 'read' },
    { name: 'dx', access: 'read_write' },
  ],
  uniforms: [
    { name: 'batch', type: 'u32' },
    { name: 'tokens', type: 'u32' },
    { name: 'dim', type: 'u32' },
  ],
  overrides: { WG: 256 },
};

/** dx [B, tokens, D] from dy [B, D]. */
export function clsPoolBackward(ctx: GpuContext, dy: Tensor, tokens: number, label: string): Tensor {
  const [batch, dim] = dy.shape;
  const dx = ctx.empty([batch, tokens, dim], label);
  ctx.dispatch(clsPoolBackwardKernel, { batch, tokens, dim }, [dy, dx], gridFor(dx.size, clsPoolBackwardKernel.overrides.WG));
  return dx;
}
