/**
 * Counter-based pseudo-random numbers that Python (tools/prng.py) reproduces bit for bit,
 * so golden fixtures can be made from random weights without committing the weights.
 *
 * value(seed, stream, i) = hash(hash(seed + stream * 0x9E3779B9) + i * 0x85EBCA6B), where hash is
 * Chris Wellons' "lowbias32" integer mixer; the top 24 bits give a uniform in (0, 1).
 */
export function lowbias32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** Uniform numbers in (0, 1) with 24-bit resolution: exactly representable in float32. */
export function uniforms(seed: number, stream: number, count: number): Float64Array {
  const base = lowbias32((seed + Math.imul(stream, 0x9e3779b9)) >>> 0);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const x = lowbias32((base + Math.imul(i, 0x85ebca6b)) >>> 0);
    out[i] = ((x >>> 8) + 0.5) / 16777216;
  }
  return out;
}

/** float32(offset + scale * (2u - 1)), computed in float64 and rounded once, as tools/prng.py does. */
export function uniformTensor(seed: number, stream: number, count: number, offset: number, scale: number): Float32Array {
  const u = uniforms(seed, stream, count);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = offset + scale * (2 * u[i] - 1);
  return out;
}
