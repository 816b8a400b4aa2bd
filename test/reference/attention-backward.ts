/**
 * Float64 references for the gradients of the attention core with fused qkv [B, T, 3D]
 * (timm layout): S = alpha q.k^T per head, O = A.v with heads merged into [B, T, D].
 * Returns dq, dk, dv in the fused layout and dA [B, H, T, T].
 */
export function attentionBackwardRef(
  dOut: ArrayLike<number>,
  dScores: ArrayLike<number>,
  attn: ArrayLike<number>,
  qkv: ArrayLike<number>,
  batch: number,
  tokens: number,
  heads: number,
  headDim: number,
  alpha: number,
): { dQkv: Float64Array; dAttn: Float64Array } {
  const dim = heads * headDim;
  const at = (b: number, t: number, part: number, h: number, d: number) => (b * tokens + t) * 3 * dim + part * dim + h * headDim + d;
  const sIdx = (b: number, h: number, i: number, j: number) => ((b * heads + h) * tokens + i) * tokens + j;
  const dQkv = new Float64Array(batch * tokens * 3 * dim);
  const dAttn = new Float64Array(batch * heads * tokens * tokens);
  for (let b = 0; b < batch; b++)
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < tokens; i++)
        for (let j = 0; j < tokens; j++) {
          let acc = 0;
          for (let d = 0; d < headDim; d++) acc += dOut[(b * tokens + i) * dim + h * headDim + d] * qkv[at(b, j, 2, h, d)];
          dAttn[sIdx(b, h, i, j)] = acc;
        }
      for (let j = 0; j < tokens; j++)
        for (let d = 0; d < headDim; d++) {
          let dv = 0;
          let dq = 0;
          let dk = 0;
          for (let i = 0; i < tokens; i++) {
            dv += attn[sIdx(b, h, i, j)] * dOut[(b * tokens + i) * dim + h * headDim + d];
            dq += dScores[sIdx(b, h, j, i)] * qkv[at(b, i, 1, h, d)];
            dk += dScores[sIdx(b, h, i, j)] * qkv[at(b, i, 0, h, d)];
          }
          dQkv[at(b, j, 2, h, d)] = dv;
          dQkv[at(b, j, 0, h, d)] = alpha * dq;
          dQkv[at(b, j, 1, h, d)] = alpha * dk;
        }
    }
  return { dQkv, dAttn };
}
