/** calib-matmul-loss: per head and candidate pair, the squared error of a quantized per-head matmul. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import type { KernelDescriptor } from '../runtime/kernel.js';
import type { Operand } from './matmul.js';
import { reduceSum } from './reduce-sum.js';

export const calibMatmulLossKernel: KernelDescriptor = {
  name: 'calib-matmul-loss',
  entryPoint: 'main',
  storage: [
    { name: 'a', access: 'read' },
    { name: 'b', access: 'read' },
    { name: 'ref_product', access: 'read' },
    { name: 'a_scale', access: 'read' },
    { name: 'a_zero_point', access: 'read' },
    { name: 'b_scale', access: 'read' },
    { name: 'b_zero_point', access: 'read' },
    { name: 'partial', access: 'read_write' },
  ],
  uniforms: [
    ...['M', 'N', 'K', 'images', 'heads', 'CA', 'CB', 'tiles_n', 'tiles', 'a_off', 'a_rs', 'a_cs', 'a_bs', 'a_is', 'b_off', 'b_rs', 'b_cs', 'b_bs', 'b_is'].map(
      (name) => ({ name, type: 'u32' as const }),
    ),
    { name: 'qmax_a', type: 'f32' },
    { name: 'qmax_b', type: 'f32' },
  ],
  overrides: { WG_X: 8, WG_Y: 8 },
};

export interface QuantizerTable {
  scale: Tensor;
  zeroPoint: Tensor;
  /** Candidates per head. */
  count: number;
  bits: number;
}

export interface MatmulLossOptions {
  M: number;
  N: number;
  K: number;
  images: number;
  heads: number;
  /** batchStride steps images, innerStride steps heads. */
  a: Operand;
  b: Operand;
  /** Float product [images, heads, M, N]. */
  reference: Tensor;
  qa: QuantizerTable;
  qb: QuantizerTable;
}

/** Returns loss [heads * CA * CB]: entry (h, ca, cb) at (h * CA + ca) * CB + cb. */
export function calibMatmulLoss(ctx: GpuContext, o: MatmulLossOptions): Tensor {
  const { WG_X, WG_Y } = calibMatmulLossKernel.overrides;
  const gx = Math.ceil(o.N / (4 * WG_X));
  const gy = Math.ceil(o.M / (4 * WG_Y));
  const tilesN = gx * WG_X;
  const tiles = tilesN * gy * WG_Y;
  const rows = o.heads * o.qa.count * o.qb.count;
  const partial = ctx.empty([rows * tiles], 'calib-matmul-loss.partial');
  ctx.clear(partial);
  ctx.dispatch(
    calibMatmulLossKernel,
    {
      M: o.M, N: o.N, K: o.K, images: o.images, heads: o.heads, CA: o.qa.count, CB: o.qb.count, tiles_n: tilesN, tiles,
      a_off: o.a.offset ?? 0, a_rs: o.a.rowStride, a_cs: o.a.colStride, a_bs: o.a.batchStride ?? 0, a_is: o.a.innerStride ?? 0,
      b_off: o.b.offset ?? 0, b_rs: o.b.rowStride, b_cs: o.b.colStride, b_bs: o.b.batchStride ?? 0, b_is: o.b.innerStride ?? 0,
      qmax_a: 2 ** o.qa.bits - 1, qmax_b: 2 ** o.qb.bits - 1,
    },
    [o.a.tensor, o.b.tensor, o.reference, o.qa.scale, o.qa.zeroPoint, o.qb.scale, o.qb.zeroPoint, partial],
    [gx, gy, rows],
  );
  const loss = reduceSum(ctx, partial, rows, 'calib-matmul-loss');
  partial.release();
  return loss;
}
