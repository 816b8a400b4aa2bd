/**
 * Which images calibrate: a seeded permutation of the dataset (the official code permutes the
 * training set with its seed and takes the first calib_size), or an explicit index list.
 */
import { FimaqError } from '../util/errors.js';
import { uniforms } from '../util/prng.js';

/** The first `size` indices of a Fisher-Yates permutation of [0, count) drawn from `seed`. */
export function seededIndices(count: number, size: number, seed: number): number[] {
  if (size > count) throw new FimaqError(`--calib-size ${size} exceeds the ${count} images of the calibration data`);
  const perm = Array.from({ length: count }, (_, i) => i);
  const u = uniforms(seed, 0x0ca1, size);
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(u[i] * (count - i));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  return perm.slice(0, size);
}

/** Validates an explicit index list (from --calib-indices) against the data set size. */
export function checkIndices(value: unknown, count: number, source: string): number[] {
  if (!Array.isArray(value) || value.length === 0) throw new FimaqError(`${source}: expected a non-empty JSON array of image indices`);
  value.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 0 || v >= count) throw new FimaqError(`${source}: entry ${i} (${JSON.stringify(v)}) is not an image index in [0, ${count})`);
  });
  return value as number[];
}
