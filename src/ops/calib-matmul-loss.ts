/** calib-matmul-loss: per head and candidate of one operand, the squared error of a quantized per-head matmul. */
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
    { name: 'cand_scale', access: 'read' },
    { name: 'cand_zero_point', access: 'read' },
    { name: 'partial', access: 'read_write' },
  ],
  uniforms: [
    ...['M', 'N', 'K', 'images', 'heads', 'C', 'tiles_n', 'tiles', 'a_off', 'a_rs', 'a_cs', 'a_bs', 'a_is', 'b_off', 'b_rs', 'b_cs', 'b_bs', 'b_is', 'r_rs', 'r_cs', 'r_bs', 'r_is'].map(
      (name) => ({ name, type: 'u32' as const }),
    ),
    { name: 'qmax', type: 'f32' },
  ],
  overrides: { WG_X: 8, WG_Y: 8 },
};

/** Where the float product lives: element (image, head, i, j) at image*batch + head*inner + i*row + j*col. */
export interface ProductLayout {
  tensor: Tensor;
  rowStride: number;
  colStride: number;
  batchStride: number;
  innerStride: number;
}

export interface MatmulLossOptions {
  M: number;
  N: number;
  K: number;
  images: number;
  heads: number;
  /** The operand under search (fake-quantized in the kernel); batchStride steps images, innerStride heads. */
  a: Operand;
  /** The other operand, already fake-quantized. */
  b: Operand;
  reference: ProductLayout;
  /** Candidate tables for `a`, `count` per head: [heads * count]. */
  candScale: Tensor;
  candZeroPoint: Tensor;
  count: number;
  bits: number;
}

/** Returns loss [heads * count]: entry (h, c) at h * count + c. */
export function calibMatmulLoss(ctx: GpuContext, o: MatmulLossOptions): Tensor {
  const { WG_X, WG_Y } = calibMatmulLossKernel.overrides;
  const gx = Math.ceil(o.N / (8 * WG_X));
  const gy = Math.ceil(o.M / (4 * WG_Y));
  const tilesN = gx * WG_X;
  const tiles = tilesN * gy * WG_Y;
  const rows = o.heads * o.count;
  const partial = ctx.empty([rows * tiles], 'calib-matmul-loss.partial');
  // Tiles past the edge of (M, N) write nothing: clear the buffer so they add zero.
  ctx.clear(partial);
  const r = o.reference;
  ctx.dispatch(
    calibMatmulLossKernel,
    {
      M: o.M, N: o.N, K: o.K, images: o.images, heads: o.heads, C: o.count, tiles_n: tilesN, tiles,
      a_off: o.a.offset ?? 0, a_rs: o.a.rowStride, a_cs: o.a.colStride, a_bs: o.a.batchStride ?? 0, a_is: o.a.innerStride ?? 0,
      b_off: o.b.offset ?? 0, b_rs: o.b.rowStride, b_cs: o.b.colStride, b_bs: o.b.batchStride ?? 0, b_is: o.b.innerStride ?? 0,
      r_rs: r.rowStride, r_cs: r.colStride, r_bs: r.batchStride, r_is: r.innerStride,
      qmax: 2 ** o.bits - 1,
    },
    [o.a.tensor, o.b.tensor, r.tensor, o.candScale, o.candZeroPoint, partial],
    [gx, gy, rows],
  );
  const loss = reduceSum(ctx, partial, rows, 'calib-matmul-loss');
  partial.release();
  return loss;
}

/** The operand layout of the transposed product: (A.B)^T = B^T.A^T, so B can be searched as `a`. */
export function transposed(op: Operand): Operand {
  return { ...op, rowStride: op.colStride, colStride: op.rowStride };
}
