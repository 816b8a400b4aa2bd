/**
 * attention-backward: gradients of the attention core of src/ops/attention.ts with respect to its
 * (quantized) operands, as strided matmuls over (image, head) batches that read and write q, k
 * and v in place in the fused [B, T, 3D] layout (no shader of its own).
 */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { matmul } from './matmul.js';

/**
 * From dO [B, T, D] (heads merged) of O = A.v: writes dv into the v part of dQkv [B, T, 3D] and
 * returns dA [B, H, T, T].
 */
export function attentionContextBackward(ctx: GpuContext, dOut: Tensor, attn: Tensor, qkv: Tensor, dQkv: Tensor, label: string): Tensor {
  const [batch, heads, tokens] = attn.shape;
  const threeDim = qkv.shape[2];
  const dim = threeDim / 3;
  const hd = dim / heads;
  const bh = batch * heads;
  // dv[t', j] = Σ_t A[t, t'] dO[t, j]
  matmul(ctx, {
    M: tokens, N: hd, K: tokens, batch: bh, inner: heads,
    a: { tensor: attn, rowStride: 1, colStride: tokens, batchStride: heads * tokens * tokens, innerStride: tokens * tokens },
    b: { tensor: dOut, rowStride: dim, colStride: 1, batchStride: tokens * dim, innerStride: hd },
    c: { tensor: dQkv, offset: 2 * dim, rowStride: threeDim, batchStride: tokens * threeDim, innerStride: hd },
  });
  // dA[t, t'] = Σ_j dO[t, j] v[t', j]
  const dAttn = ctx.empty(attn.shape, `${label}.dattn`);
  matmul(ctx, {
    M: tokens, N: tokens, K: hd, batch: bh, inner: heads,
    a: { tensor: dOut, rowStride: dim, colStride: 1, batchStride: tokens * dim, innerStride: hd },
    b: { tensor: qkv, offset: 2 * dim, rowStride: 1, colStride: threeDim, batchStride: tokens * threeDim, innerStride: hd },
    c: { tensor: dAttn, rowStride: tokens, batchStride: heads * tokens * tokens, innerStride: tokens * tokens },
  });
  return dAttn;
}

/** From dS [B, H, T, T] of S = alpha q.k^T: writes dq and dk into the q and k parts of dQkv. */
export function attentionScoresBackward(ctx: GpuContext, dScores: Tensor, qkv: Tensor, dQkv: Tensor, alpha: number): void {
  const [batch, heads, tokens] = dScores.shape;
  const threeDim = qkv.shape[2];
  const dim = threeDim / 3;
  const hd = dim / heads;
  const bh = batch * heads;
  const scoreStrides = { batchStride: heads * tokens * tokens, innerStride: tokens * tokens };
  const rowsOf = (offset: number) => ({ offset, rowStride: threeDim, colStride: 1, batchStride: tokens * threeDim, innerStride: hd });
  // dq[t, j] = alpha Σ_t' dS[t, t'] k[t', j]
  matmul(ctx, {
    M: tokens, N: hd, K: tokens, batch: bh, inner: heads, alpha,
    a: { tensor: dScores, rowStride: tokens, colStride: 1, ...scoreStrides },
    b: { tensor: qkv, ...rowsOf(dim) },
    c: { tensor: dQkv, offset: 0, rowStride: threeDim, batchStride: tokens * threeDim, innerStride: hd },
  });
  // dk[t', j] = alpha Σ_t dS[t, t'] q[t, j]
  matmul(ctx, {
    M: tokens, N: hd, K: tokens, batch: bh, inner: heads, alpha,
    a: { tensor: dScores, rowStride: 1, colStride: tokens, ...scoreStrides },
    b: { tensor: qkv, ...rowsOf(0) },
    c: { tensor: dQkv, offset: dim, rowStride: threeDim, batchStride: tokens * threeDim, innerStride: hd },
  });
}
