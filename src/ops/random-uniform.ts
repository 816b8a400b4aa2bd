/** random-uniform: the counter-based uniforms of src/util/prng.ts, generated on the GPU. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const randomUniformKernel: KernelDescriptor = {
  name: 'random-uniform',
  entryPoint: 'main',
  storage: [{ name: 'out', access: 'read_write' }],
  uniforms: [
    { name: 'count', type: 'u32' },
    { name: 'seed', type: 'u32' },
    { name: 'stream', type: 'u32' },
  ],
  overrides: { WG: 256 },
};

/**
 * Records out[i] = Float32Array.from(uniforms(seed, stream, out.size))[i]: values in (0, 1], where 1 comes
 * from float32 rounding of the largest draw (probability 2^-24). seed and stream are integers, taken mod 2^32.
 */
export function randomUniform(ctx: GpuContext, out: Tensor, seed: number, stream: number): void {
  if (!Number.isInteger(seed) || !Number.isInteger(stream)) throw new Error(`random-uniform: seed ${seed} and stream ${stream} must be integers`);
  ctx.dispatch(randomUniformKernel, { count: out.size, seed: seed >>> 0, stream: stream >>> 0 }, [out], gridFor(out.size, randomUniformKernel.overrides.WG));
}
