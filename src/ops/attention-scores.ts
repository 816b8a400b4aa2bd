/** attention-scores: scaled q.k^T per head, read from the fused qkv projection [B, N, 3D]. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const attentionScoresKernel: KernelDescriptor = {
  name: 'attention-scores',
  entryPoint: 'main',
  storage: [
    { name: 'qkv', access: 'read' },
    { name: 'scores', access: 'read_write' },
  ],
  uniforms: [
    { name: 'batch', type: 'u32' },
    { name: 'tokens', type: 'u32' },
    { name: 'heads', type: 'u32' },
    { name: 'head_dim', type: 'u32' },
    { name: 'scale', type: 'f32' },
  ],
  overrides: { WG: 64 },
};

/** Returns scores [B, H, N, N] = (q . k^T) * head_dim^-0.5. */
export function attentionScores(ctx: GpuContext, qkv: Tensor, heads: number, label: string): Tensor {
  const [batch, tokens, threeDim] = qkv.shape;
  const headDim = threeDim / 3 / heads;
  const scores = ctx.empty([batch, heads, tokens, tokens], label);
  ctx.dispatch(
    attentionScoresKernel,
    { batch, tokens, heads, head_dim: headDim, scale: 1 / Math.sqrt(headDim) },
    [qkv, scores],
    gridFor(scores.size, attentionScoresKernel.overrides.WG),
  );
  return scores;
}
