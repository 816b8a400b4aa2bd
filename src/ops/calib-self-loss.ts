/** calib-self-loss: per (row, candidate) quantization error of a strided row. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const calibSelfLossKernel: KernelDescriptor = {
  name: 'calib-self-loss',
  entryPoint: 'main',
  storage: [
    { name: 'v', access: 'read' },
    { name: 'cand_scale', access: 'read' },
    { name: 'cand_zero_point', access: 'read' },
    { name: 'loss', access: 'read_write' },
  ],
  uniforms: [
    ...['rows', 'len', 'rs', 'cs', 'C'].map((name) => ({ name, type: 'u32' as const })),
    { name: 'qmax', type: 'f32' },
  ],
  overrides: { WG: 64 },
};

export interface RowLayout {
  rows: number;
  len: number;
  rowStride: number;
  elementStride: number;
}

/** Returns loss [rows * candidates]; candidate tables are [rows * candidates], row-major. */
export function calibSelfLoss(ctx: GpuContext, v: Tensor, layout: RowLayout, candScale: Tensor, candZeroPoint: Tensor, candidates: number, bits: number): Tensor {
  const loss = ctx.empty([layout.rows * candidates], 'calib-self-loss');
  ctx.dispatch(
    calibSelfLossKernel,
    { rows: layout.rows, len: layout.len, rs: layout.rowStride, cs: layout.elementStride, C: candidates, qmax: 2 ** bits - 1 },
    [v, candScale, candZeroPoint, loss],
    gridFor(layout.rows * candidates, calibSelfLossKernel.overrides.WG),
  );
  return loss;
}
