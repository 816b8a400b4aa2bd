/** embed-tokens: class token + patch tokens, plus position embeddings. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const embedTokensKernel: KernelDescriptor = {
  name: 'embed-tokens',
  entryPoint: 'main',
  storage: [
    { name: 'patches', access: 'read' },
    { name: 'cls', access: 'read' },
    { name: 'pos', access: 'read' },
    { name: 'x', access: 'read_write' },
  ],
  uniforms: ['batch', 'tokens', 'dim'].map((name) => ({ name, type: 'u32' as const })),
  overrides: { WG: 256 },
};

/** patches [B, N, D], cls [D], pos [N+1, D] -> x [B, N+1, D]. */
export function embedTokens(ctx: GpuContext, patches: Tensor, cls: Tensor, pos: Tensor, label: string): Tensor {
  const [batch, n, dim] = patches.shape;
  const x = ctx.empty([batch, n + 1, dim], label);
  ctx.dispatch(embedTokensKernel, { batch, tokens: n + 1, dim }, [patches, cls, pos, x], gridFor(x.size, embedTokensKernel.overrides.WG));
  return x;
}
