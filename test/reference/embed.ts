/** Float64 references for the embedding stage: patch convolution, token assembly, class-token pooling. */
export function patchEmbedRef(
  img: ArrayLike<number>, w: ArrayLike<number>, bias: ArrayLike<number>,
  batch: number, channels: number, height: number, width: number, patch: number, dim: number,
): Float64Array {
  const gw = width / patch;
  const gh = height / patch;
  const out = new Float64Array(batch * gh * gw * dim);
  for (let b = 0; b < batch; b++)
    for (let gy = 0; gy < gh; gy++)
      for (let gx = 0; gx < gw; gx++)
        for (let d = 0; d < dim; d++) {
          let acc = bias[d];
          for (let c = 0; c < channels; c++)
            for (let ky = 0; ky < patch; ky++)
              for (let kx = 0; kx < patch; kx++) {
                acc += w[((d * channels + c) * patch + ky) * patch + kx] * img[((b * channels + c) * height + gy * patch + ky) * width + gx * patch + kx];
              }
          out[((b * gh + gy) * gw + gx) * dim + d] = acc;
        }
  return out;
}

export function embedTokensRef(patches: ArrayLike<number>, cls: ArrayLike<number>, pos: ArrayLike<number>, batch: number, n: number, dim: number): Float64Array {
  const out = new Float64Array(batch * (n + 1) * dim);
  for (let b = 0; b < batch; b++)
    for (let t = 0; t <= n; t++)
      for (let d = 0; d < dim; d++) {
        const v = t === 0 ? cls[d] : patches[(b * n + t - 1) * dim + d];
        out[(b * (n + 1) + t) * dim + d] = v + pos[t * dim + d];
      }
  return out;
}

export function clsPoolRef(x: ArrayLike<number>, batch: number, tokens: number, dim: number): Float64Array {
  const out = new Float64Array(batch * dim);
  for (let b = 0; b < batch; b++) for (let d = 0; d < dim; d++) out[b * dim + d] = x[b * tokens * dim + d];
  return out;
}
