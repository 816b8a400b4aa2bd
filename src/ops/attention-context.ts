/** attention-context: A.v per head with heads merged back, v read from the fused qkv projection. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const attentionContextKernel: KernelDescriptor = {
  name: 'attention-context',
  entryPoint: 'main',
  storage: [
    { name: 'attn', access: 'read' },
    { name: 'qkv', access: 'read' },
    { name: 'out', access: 'read_write' },
  ],
  uniforms: [
    { name: 'batch', type: 'u32' },
    { name: 'tokens', type: 'u32' },
    { name: 'heads', type: 'u32' },
    { name: 'head_dim', type: 'u32' },
  ],
  overrides: { WG: 64 },
};

/** attn [B, H, N, N], qkv [B, N, 3D] -> out [B, N, D]. */
export function attentionContext(ctx: GpuContext, attn: Tensor, qkv: Tensor, label: string): Tensor {
  const [batch, heads, tokens] = attn.shape;
  const dim = qkv.shape[2] / 3;
  const out = ctx.empty([batch, tokens, dim], label);
  ctx.dispatch(
    attentionContextKernel,
    { batch, tokens, heads, head_dim: dim / heads },
    [attn, qkv, out],
    gridFor(out.size, attentionContextKernel.overrides.WG),
  );
  return out;
}
