/** row-sq-diff: squared distance of each row of a to a row of b that repeats every bRows rows. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const rowSqDiffKernel: KernelDescriptor = {
  name: 'row-sq-diff',
  entryPoint: 'main',
  storage: [
    { name: 'a', access: 'read' },
    { name: 'b', access: 'read' },
    { name: 'out', access: 'read_write' },
  ],
  uniforms: ['rows', 'cols', 'b_rows'].map((name) => ({ name, type: 'u32' as const })),
  overrides: { WG: 64 },
};

/** a [rows, cols], b [bRows, cols] -> [rows]. */
export function rowSqDiff(ctx: GpuContext, a: Tensor, b: Tensor, cols: number, label: string): Tensor {
  const rows = a.size / cols;
  const bRows = b.size / cols;
  if (!Number.isInteger(rows) || !Number.isInteger(bRows) || rows % bRows !== 0) throw new Error(`${label}: [${a.shape}] rows do not repeat [${b.shape}]`);
  const out = ctx.empty([rows], label);
  ctx.dispatch(rowSqDiffKernel, { rows, cols, b_rows: bRows }, [a, b, out], gridFor(rows, rowSqDiffKernel.overrides.WG));
  return out;
}
