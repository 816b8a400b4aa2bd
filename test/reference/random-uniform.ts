/** Reference for random-uniform: the CPU generator of src/util/prng.ts, rounded to float32 as a Float32Array stores it. */
import { uniforms } from '../../src/util/prng.js';

export function randomUniformRef(seed: number, stream: number, count: number): Float32Array {
  return Float32Array.from(uniforms(seed, stream, count));
}
