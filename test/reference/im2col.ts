/** Patch rows of a PxP stride-P convolution, looping over output rows and weight positions. */
export function im2colRef(img: Float32Array, batch: number, channels: number, height: number, width: number, patch: number): Float64Array {
  const gh = height / patch;
  const gw = width / patch;
  const cols = channels * patch * patch;
  const out = new Float64Array(batch * gh * gw * cols);
  for (let b = 0; b < batch; b++)
    for (let n = 0; n < gh * gw; n++)
      for (let c = 0; c < channels; c++)
        for (let ky = 0; ky < patch; ky++)
          for (let kx = 0; kx < patch; kx++) {
            const y = Math.floor(n / gw) * patch + ky;
            const x = (n % gw) * patch + kx;
            out[(b * gh * gw + n) * cols + (c * patch + ky) * patch + kx] = img[((b * channels + c) * height + y) * width + x];
          }
  return out;
}
