/** calib-self-loss: per (row, candidate) quantization error of a strided row. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { DEFAULT_FLOPS_PER_ELEMENT, gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const calibSelfLossKernel: KernelDescriptor = {
  name: 'calib-self-loss',
  entryPoint: 'main',
  storage: [
    { name: 'v', access: 'read' },
    { name: 'cand_scale', access: 'read' },
    { name: 'cand_zero_point', access: 'read' },
    { name: 'loss', access: 'read_write' },
    { name: 'compensation', access: 'read_write' },
  ],
  uniforms: [
    ...['rows', 'len', 'rs', 'cs', 'C', 'resume'].map((name) => ({ name, type: 'u32' as const })),
    { name: 'qmax', type: 'f32' },
  ],
  overrides: { WG: 64 },
  // A workgroup's invocations are candidates of one or two rows and read them together, so each
  // workgroup (or, with fewer candidates than invocations, each row) streams its row once.
  cost: ({ uniforms: u, grid, bufferBytes: b }) => ({
    flops: DEFAULT_FLOPS_PER_ELEMENT * u.rows * u.C * u.len,
    bytes: 4 * u.len * Math.max(u.rows, grid[0] * grid[1] * grid[2]) + b[1] + b[2] + b[3] + b[4],
  }),
  libraries: ['reduction'],
};

export interface RowLayout {
  rows: number;
  len: number;
  rowStride: number;
  elementStride: number;
}

/** Returns loss [rows * candidates]; candidate tables are [rows * candidates], row-major. */
export function calibSelfLoss(ctx: GpuContext, v: Tensor, layout: RowLayout, candScale: Tensor, candZeroPoint: Tensor, candidates: number, bits: number): Tensor {
  return calibSelfLossOverChunks(ctx, [{ v, layout }], candScale, candZeroPoint, candidates, bits);
}

/**
 * The same loss over data that comes in chunks of whole rows of the data (calibration images): each
 * chunk's layout has the same rows (the quantizer's groups) and its own `len`. One dispatch per
 * chunk, in order, each continuing the compensated sums of the one before, so the loss does not
 * depend on how the data is chunked.
 */
export function calibSelfLossOverChunks(
  ctx: GpuContext, chunks: readonly { v: Tensor; layout: RowLayout }[], candScale: Tensor, candZeroPoint: Tensor, candidates: number, bits: number,
): Tensor {
  const rows = chunks[0].layout.rows;
  if (chunks.some((c) => c.layout.rows !== rows)) throw new Error('calib-self-loss: chunks with different rows');
  const loss = ctx.empty([rows * candidates], 'calib-self-loss');
  const compensation = ctx.empty([rows * candidates], 'calib-self-loss.compensation');
  chunks.forEach(({ v, layout }, i) =>
    ctx.dispatch(
      calibSelfLossKernel,
      { rows, len: layout.len, rs: layout.rowStride, cs: layout.elementStride, C: candidates, resume: i > 0 ? 1 : 0, qmax: 2 ** bits - 1 },
      [v, candScale, candZeroPoint, loss, compensation],
      gridFor(rows * candidates, calibSelfLossKernel.overrides.WG),
    ),
  );
  compensation.release();
  return loss;
}
