/** gather-rows: copies the rows named by an index tensor into a contiguous minibatch. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const gatherRowsKernel: KernelDescriptor = {
  name: 'gather-rows',
  entryPoint: 'main',
  storage: [
    { name: 'src', access: 'read' },
    { name: 'indices', access: 'read' },
    { name: 'out', access: 'read_write' },
  ],
  uniforms: [
    { name: 'rows', type: 'u32' },
    { name: 'cols', type: 'u32' },
    { name: 'first', type: 'u32' },
    { name: 'src_rows', type: 'u32' },
  ],
  overrides: { WG: 256 },
  // The indices, and every sampled row read and written once: exact for a cache of one chunk; a
  // cache in c chunks moves about 1/c of this per dispatch.
  cost: ({ uniforms: u }) => ({ flops: 0, bytes: 4 * u.rows * (1 + 2 * u.cols) }),
};

/**
 * Records out[b * rowSize + d] = src[(indices[b] - first) * rowSize + d] for b < indices.size,
 * d < rowSize, where src holds rows first .. first + src.size / rowSize - 1 of a larger cache
 * (first = 0: the whole cache). Rows of out whose index lies outside src, and elements past
 * indices.size * rowSize, are left as they are.
 */
export function gatherRows(ctx: GpuContext, src: Tensor, indices: Tensor, rowSize: number, out: Tensor, first = 0): void {
  const rows = indices.size;
  if (!Number.isInteger(rowSize) || rowSize < 1 || src.size % rowSize !== 0) {
    throw new Error(`gather-rows: ${src.size} values are not rows of ${rowSize}`);
  }
  if (indices.dtype !== 'u32') throw new Error('gather-rows: indices must be u32');
  if (out.size < rows * rowSize) throw new Error(`gather-rows: out holds ${out.size} values, needs ${rows * rowSize}`);
  const srcRows = src.size / rowSize;
  ctx.dispatch(gatherRowsKernel, { rows, cols: rowSize, first, src_rows: srcRows }, [src, indices, out], gridFor(rows * rowSize, gatherRowsKernel.overrides.WG));
}
