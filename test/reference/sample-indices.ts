/** Reference partial Fisher-Yates shuffle, replaying the kernel's float32 arithmetic on the noise. */
export function sampleIndicesRef(noise: ArrayLike<number>, population: number, count: number): { out: Uint32Array; perm: Uint32Array } {
  const perm = Uint32Array.from({ length: population }, (_, i) => i);
  const out = new Uint32Array(count);
  for (let b = 0; b < count; b++) {
    const left = population - b;
    // float32(noise * left) as the GPU's multiply rounds it; noise and left are exact in float32.
    const j = b + Math.min(Math.floor(Math.fround(Math.fround(noise[b]) * left)), left - 1);
    [perm[b], perm[j]] = [perm[j], perm[b]];
    out[b] = perm[b];
  }
  return { out, perm };
}
