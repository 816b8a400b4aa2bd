/** calib-matmul-loss: per head and candidate of one operand, the squared error of a quantized per-head matmul. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';
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
    ...['M', 'N', 'K', 'images', 'heads', 'C', 'tiles_m', 'tiles_n', 'a_off', 'a_rs', 'a_cs', 'a_bs', 'a_is', 'b_off', 'b_rs', 'b_cs', 'b_bs', 'b_is', 'r_rs', 'r_cs', 'r_bs', 'r_is'].map(
      (name) => ({ name, type: 'u32' as const }),
    ),
    { name: 'qmax', type: 'f32' },
  ],
  overrides: { WG: 64 },
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
  const tilesM = Math.ceil(o.M / 4);
  const tilesN = Math.ceil(o.N / 8);
  const rows = o.heads * o.count;
  const partial = ctx.empty([rows * tilesM * tilesN], 'calib-matmul-loss.partial');
  const r = o.reference;
  ctx.dispatch(
    calibMatmulLossKernel,
    {
      M: o.M, N: o.N, K: o.K, images: o.images, heads: o.heads, C: o.count, tiles_m: tilesM, tiles_n: tilesN,
      a_off: o.a.offset ?? 0, a_rs: o.a.rowStride, a_cs: o.a.colStride, a_bs: o.a.batchStride ?? 0, a_is: o.a.innerStride ?? 0,
      b_off: o.b.offset ?? 0, b_rs: o.b.rowStride, b_cs: o.b.colStride, b_bs: o.b.batchStride ?? 0, b_is: o.b.innerStride ?? 0,
      r_rs: r.rowStride, r_cs: r.colStride, r_bs: r.batchStride, r_is: r.innerStride,
      qmax: 2 ** o.bits - 1,
    },
    [o.a.tensor, o.b.tensor, r.tensor, o.candScale, o.candZeroPoint, partial],
    gridFor(rows * tilesM * tilesN, calibMatmulLossKernel.overrides.WG),
  );
  const loss = reduceSum(ctx, partial, rows, 'calib-matmul-loss');
  partial.release();
  return loss;
}

/** The operand layout of the transposed product: (A.B)^T = B^T.A^T, so B can be searched as `a`. */
export function transposed(op: Operand): Operand {
  return { ...op, rowStride: op.colStride, colStride: op.rowStride };
}
