/** sum-slices: adds the K-slices of a split matmul in a fixed order, then alpha and bias. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const sumSlicesKernel: KernelDescriptor = {
  name: 'sum-slices',
  entryPoint: 'main',
  storage: [
    { name: 'slices', access: 'read' },
    { name: 'bias', access: 'read' },
    { name: 'c', access: 'read_write' },
  ],
  uniforms: [
    { name: 'M', type: 'u32' },
    { name: 'N', type: 'u32' },
    { name: 'slices', type: 'u32' },
    { name: 'c_off', type: 'u32' },
    { name: 'c_rs', type: 'u32' },
    { name: 'alpha', type: 'f32' },
  ],
  overrides: { WG: 64, HAS_BIAS: 0 },
  cost: ({ uniforms: u, overrides: o }) => ({
    flops: u.M * u.N * (u.slices + 1),
    bytes: 4 * (u.M * u.N * (u.slices + 1) + (o.HAS_BIAS ? u.N : 0)),
  }),
};

export interface SumSlicesOptions {
  /** [slices, M, N] partial products. */
  slices: Tensor;
  count: number;
  M: number;
  N: number;
  c: { tensor: Tensor; offset?: number; rowStride: number };
  bias?: Tensor;
  alpha?: number;
}

/** c[m, n] = alpha Σ_s slices[s, m, n] (+ bias[n]), at C's offset and row stride. */
export function sumSlices(ctx: GpuContext, o: SumSlicesOptions): void {
  if (o.slices.size < o.count * o.M * o.N) throw new Error(`sum-slices: ${o.slices.size} values are not ${o.count} slices of [${o.M}, ${o.N}]`);
  ctx.dispatch(
    sumSlicesKernel,
    { M: o.M, N: o.N, slices: o.count, c_off: o.c.offset ?? 0, c_rs: o.c.rowStride, alpha: o.alpha ?? 1 },
    [o.slices, o.bias ?? ctx.placeholder, o.c.tensor],
    gridFor(o.M * o.N, sumSlicesKernel.overrides.WG),
    { HAS_BIAS: o.bias ? 1 : 0 },
  );
}
