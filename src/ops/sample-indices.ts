/** sample-indices: distinct minibatch indices by a partial Fisher-Yates shuffle, drawn on the GPU. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import type { KernelDescriptor } from '../runtime/kernel.js';

export const sampleIndicesKernel: KernelDescriptor = {
  name: 'sample-indices',
  entryPoint: 'main',
  storage: [
    { name: 'noise', access: 'read' },
    { name: 'perm', access: 'read_write' },
    { name: 'out', access: 'read_write' },
  ],
  uniforms: [
    { name: 'population', type: 'u32' },
    { name: 'count', type: 'u32' },
  ],
  overrides: { WG: 256 },
};

/**
 * Records out[0..out.size) = out.size distinct indices in [0, population). `perm` (u32, at least
 * `population` long) is scratch: the kernel resets it to the identity, then for b < out.size swaps
 * perm[b] with perm[j], j = b + min(floor(noise[b] * (population - b)), population - b - 1) in float32,
 * and sets out[b] = perm[b]. `noise` holds uniforms in (0, 1), at least out.size of them.
 */
export function sampleIndices(ctx: GpuContext, noise: Tensor, perm: Tensor, out: Tensor, population: number): void {
  const count = out.size;
  if (!Number.isInteger(population) || population < 1) throw new Error(`sample-indices: population ${population}`);
  if (count > population) throw new Error(`sample-indices: ${count} distinct indices from a population of ${population}`);
  if (noise.dtype !== 'f32' || noise.size < count) throw new Error(`sample-indices: noise needs ${count} f32 values`);
  if (perm.dtype !== 'u32' || perm.size < population) throw new Error(`sample-indices: perm needs ${population} u32 values`);
  if (out.dtype !== 'u32') throw new Error('sample-indices: out must be u32');
  // Population sizes above 2^24 would not be exact in float32.
  if (population > 2 ** 24) throw new Error(`sample-indices: population ${population} exceeds 2^24`);
  // One workgroup on purpose: the swaps are sequential, and a step touches only `population`
  // (the calibration images, ~1024) plus `count` (the batch) values, a few microseconds of work.
  ctx.dispatch(sampleIndicesKernel, { population, count }, [noise, perm, out], [1, 1, 1]);
}
