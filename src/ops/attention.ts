/**
 * attention: multi-head self-attention from the fused qkv projection [B, T, 3D], laid out as timm's
 * reshape(B, T, 3, H, hd) (token row = [q | k | v], heads contiguous inside each). Both products
 * are strided matmuls over (image, head) batches that read q, k and v in place, and the context
 * is written with heads merged back into [B, T, D]: no reshapes or copies.
 */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { matmul } from './matmul.js';
import { softmax } from './softmax.js';

/** S[b, h] = (q[b, :, h] . k[b, :, h]^T) * alpha (default hd^-0.5), as [B, H, T, T]. */
export function attentionScores(ctx: GpuContext, qkv: Tensor, heads: number, label: string, alpha?: number): Tensor {
  const [batch, tokens, threeDim] = qkv.shape;
  const dim = threeDim / 3;
  const hd = dim / heads;
  const scores = ctx.empty([batch, heads, tokens, tokens], label);
  matmul(ctx, {
    M: tokens, N: tokens, K: hd, batch: batch * heads, inner: heads, alpha: alpha ?? 1 / Math.sqrt(hd),
    a: { tensor: qkv, rowStride: threeDim, colStride: 1, batchStride: tokens * threeDim, innerStride: hd },
    b: { tensor: qkv, offset: dim, rowStride: 1, colStride: threeDim, batchStride: tokens * threeDim, innerStride: hd },
    c: { tensor: scores, rowStride: tokens, batchStride: heads * tokens * tokens, innerStride: tokens * tokens },
  });
  return scores;
}

/** O[b, :, h*hd:(h+1)*hd] = A[b, h] . v[b, :, h], as [B, T, D]. */
export function attentionContext(ctx: GpuContext, attn: Tensor, qkv: Tensor, label: string): Tensor {
  const [batch, heads, tokens] = attn.shape;
  const threeDim = qkv.shape[2];
  const dim = threeDim / 3;
  const hd = dim / heads;
  const out = ctx.empty([batch, tokens, dim], label);
  matmul(ctx, {
    M: tokens, N: hd, K: tokens, batch: batch * heads, inner: heads,
    a: { tensor: attn, rowStride: tokens, colStride: 1, batchStride: heads * tokens * tokens, innerStride: tokens * tokens },
    b: { tensor: qkv, offset: 2 * dim, rowStride: threeDim, colStride: 1, batchStride: tokens * threeDim, innerStride: hd },
    c: { tensor: out, rowStride: dim, batchStride: tokens * dim, innerStride: hd },
  });
  return out;
}

/**
 * Full attention core: softmax(q.k^T * scale) . v, heads merged. `mapHook` may replace the
 * post-softmax map (quantization); it owns the tensor it is given.
 */
export function attention(ctx: GpuContext, qkv: Tensor, heads: number, label: string, mapHook?: (map: Tensor) => Tensor): Tensor {
  const scores = attentionScores(ctx, qkv, heads, `${label}.scores`);
  const softmaxed = softmax(ctx, scores, `${label}.softmax`);
  scores.release();
  const attn = mapHook ? mapHook(softmaxed) : softmaxed;
  const out = attentionContext(ctx, attn, qkv, `${label}.context`);
  attn.release();
  return out;
}
