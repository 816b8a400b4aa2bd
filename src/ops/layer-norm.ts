/** layer-norm over the last dimension; strides allow normalising a strided subset of rows. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { DEFAULT_FLOPS_PER_ELEMENT, gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const layerNormKernel: KernelDescriptor = {
  name: 'layer-norm',
  entryPoint: 'main',
  storage: [
    { name: 'x', access: 'read' },
    { name: 'gamma', access: 'read' },
    { name: 'beta', access: 'read' },
    { name: 'y', access: 'read_write' },
  ],
  uniforms: [
    { name: 'rows', type: 'u32' },
    { name: 'dim', type: 'u32' },
    { name: 'in_rs', type: 'u32' },
    { name: 'out_rs', type: 'u32' },
    { name: 'eps', type: 'f32' },
  ],
  overrides: { WG: 64 },
  // Only the normalised rows: with strides these may be a subset of x (the class tokens).
  cost: ({ uniforms: u }) => ({ flops: DEFAULT_FLOPS_PER_ELEMENT * u.rows * u.dim, bytes: 4 * (2 * u.rows * u.dim + 2 * u.dim) }),
};

export function layerNorm(ctx: GpuContext, x: Tensor, gamma: Tensor, beta: Tensor, eps: number, label: string): Tensor {
  const dim = gamma.size;
  const rows = x.size / dim;
  const y = ctx.empty(x.shape, label);
  ctx.dispatch(layerNormKernel, { rows, dim, in_rs: dim, out_rs: dim, eps }, [x, gamma, beta, y], gridFor(rows, layerNormKernel.overrides.WG));
  return y;
}
