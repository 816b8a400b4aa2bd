/**
 * Float64 references for multi-head attention from a fused qkv tensor [B, N, 3D] laid out as
 * timm's reshape(B, N, 3, H, hd).
 */
export function attentionScoresRef(qkv: ArrayLike<number>, batch: number, tokens: number, heads: number, headDim: number): Float64Array {
  const dim = heads * headDim;
  const s = new Float64Array(batch * heads * tokens * tokens);
  const scale = 1 / Math.sqrt(headDim);
  for (let b = 0; b < batch; b++)
    for (let h = 0; h < heads; h++)
      for (let i = 0; i < tokens; i++)
        for (let j = 0; j < tokens; j++) {
          let acc = 0;
          for (let d = 0; d < headDim; d++) {
            acc += qkv[(b * tokens + i) * 3 * dim + h * headDim + d] * qkv[(b * tokens + j) * 3 * dim + dim + h * headDim + d];
          }
          s[((b * heads + h) * tokens + i) * tokens + j] = acc * scale;
        }
  return s;
}

export function attentionContextRef(attn: ArrayLike<number>, qkv: ArrayLike<number>, batch: number, tokens: number, heads: number, headDim: number): Float64Array {
  const dim = heads * headDim;
  const out = new Float64Array(batch * tokens * dim);
  for (let b = 0; b < batch; b++)
    for (let i = 0; i < tokens; i++)
      for (let h = 0; h < heads; h++)
        for (let d = 0; d < headDim; d++) {
          let acc = 0;
          for (let j = 0; j < tokens; j++) {
            acc += attn[((b * heads + h) * tokens + i) * tokens + j] * qkv[(b * tokens + j) * 3 * dim + 2 * dim + h * headDim + d];
          }
          out[(b * tokens + i) * dim + h * headDim + d] = acc;
        }
  return out;
}
