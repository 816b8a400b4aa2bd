/** attention-bias: adds a bias that repeats every `bias.size` elements to attention scores, in place (Swin). */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const attentionBiasKernel: KernelDescriptor = {
  name: 'attention-bias',
  entryPoint: 'main',
  storage: [
    { name: 'scores', access: 'read_write' },
    { name: 'bias', access: 'read' },
  ],
  uniforms: [
    { name: 'count', type: 'u32' },
    { name: 'period', type: 'u32' },
  ],
  overrides: { WG: 256 },
  cost: ({ uniforms: u }) => ({ flops: u.count, bytes: 8 * u.count + 4 * u.period }),
};

/** Records scores[i] += bias[i mod bias.size]; scores must hold whole repeats of bias. */
export function attentionBias(ctx: GpuContext, scores: Tensor, bias: Tensor): void {
  if (scores.size % bias.size !== 0) throw new Error(`attention-bias: [${scores.shape}] is not whole repeats of [${bias.shape}]`);
  ctx.dispatch(attentionBiasKernel, { count: scores.size, period: bias.size }, [scores, bias], gridFor(scores.size, attentionBiasKernel.overrides.WG));
}
