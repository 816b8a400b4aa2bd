/** calib-matmul-loss: per head and candidate of one operand, the squared error of a quantized per-head matmul. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { DEFAULT_FLOPS_PER_ELEMENT, gridFor, type KernelDescriptor } from '../runtime/kernel.js';
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
    ...['M', 'N', 'K', 'images', 'heads', 'C', 'tiles_m', 'tiles_n', 'a_off', 'a_rs', 'a_cs', 'a_bs', 'a_is', 'b_off', 'b_rs', 'b_cs', 'b_bs', 'b_is', 'r_rs', 'r_cs', 'r_bs', 'r_is', 'resume'].map(
      (name) => ({ name, type: 'u32' as const }),
    ),
    { name: 'qmax', type: 'f32' },
  ],
  overrides: { WG: 64 },
  // Every candidate recomputes its head's products over all images (and fake-quantizes its rows
  // of the searched operand once per column tile); operands and reference are read once per
  // candidate: a workgroup holds tiles of one candidate.
  cost: ({ uniforms: u, bufferBytes: b }) => {
    const perCandidate = u.images * u.heads * u.C;
    return {
      flops: perCandidate * (2 * u.M * u.N * u.K + DEFAULT_FLOPS_PER_ELEMENT * u.M * u.K * u.tiles_n),
      bytes: 4 * perCandidate * (u.M * u.K + u.K * u.N + u.M * u.N) + b[3] + b[4] + b[5],
    };
  },
};

/** Where the float product lives: element (image, head, i, j) at image*batch + head*inner + i*row + j*col. */
export interface ProductLayout {
  tensor: Tensor;
  rowStride: number;
  colStride: number;
  batchStride: number;
  innerStride: number;
}

/** The product, the candidates and the bit width of a loss. */
export interface MatmulLossShape {
  M: number;
  N: number;
  K: number;
  heads: number;
  /** Candidate tables for `a`, `count` per head: [heads * count]. */
  candScale: Tensor;
  candZeroPoint: Tensor;
  count: number;
  bits: number;
}

/** The operands and the float product for `images` images. */
export interface MatmulLossChunk {
  images: number;
  /** The operand under search (fake-quantized in the kernel); batchStride steps images, innerStride heads. */
  a: Operand;
  /** The other operand, already fake-quantized. */
  b: Operand;
  reference: ProductLayout;
}

export interface MatmulLossOptions extends MatmulLossShape, MatmulLossChunk {}

/** Returns loss [heads * count]: entry (h, c) at h * count + c. */
export function calibMatmulLoss(ctx: GpuContext, o: MatmulLossOptions): Tensor {
  const sums = new MatmulLossSums(ctx, o);
  sums.add(o);
  return sums.finish();
}

/**
 * The loss over images that come in chunks, each with tensors of its own: `add` records one
 * dispatch per chunk, continuing the sums of the chunks before it, so the images add up in the
 * same order however they are chunked; `finish` returns the loss as calibMatmulLoss does.
 */
export class MatmulLossSums {
  private readonly partial: Tensor;
  private readonly tilesM: number;
  private readonly tilesN: number;
  private chunks = 0;

  constructor(
    private readonly ctx: GpuContext,
    private readonly o: MatmulLossShape,
  ) {
    this.tilesM = Math.ceil(o.M / 4);
    this.tilesN = Math.ceil(o.N / 8);
    this.partial = ctx.empty([o.heads * o.count * this.tilesM * this.tilesN], 'calib-matmul-loss.partial');
  }

  add(c: MatmulLossChunk): void {
    const { o, tilesM, tilesN } = this;
    const r = c.reference;
    this.ctx.dispatch(
      calibMatmulLossKernel,
      {
        M: o.M, N: o.N, K: o.K, images: c.images, heads: o.heads, C: o.count, tiles_m: tilesM, tiles_n: tilesN,
        a_off: c.a.offset ?? 0, a_rs: c.a.rowStride, a_cs: c.a.colStride, a_bs: c.a.batchStride ?? 0, a_is: c.a.innerStride ?? 0,
        b_off: c.b.offset ?? 0, b_rs: c.b.rowStride, b_cs: c.b.colStride, b_bs: c.b.batchStride ?? 0, b_is: c.b.innerStride ?? 0,
        r_rs: r.rowStride, r_cs: r.colStride, r_bs: r.batchStride, r_is: r.innerStride,
        resume: this.chunks > 0 ? 1 : 0,
        qmax: 2 ** o.bits - 1,
      },
      [c.a.tensor, c.b.tensor, r.tensor, o.candScale, o.candZeroPoint, this.partial],
      gridFor(this.partial.size, calibMatmulLossKernel.overrides.WG),
    );
    this.chunks++;
  }

  /** The loss [heads * count]; releases the partial sums. */
  finish(): Tensor {
    if (this.chunks === 0) throw new Error('calib-matmul-loss: no images added');
    const loss = reduceSum(this.ctx, this.partial, this.o.heads * this.o.count, 'calib-matmul-loss');
    this.partial.release();
    return loss;
  }
}

/** The operand layout of the transposed product: (A.B)^T = B^T.A^T, so B can be searched as `a`. */
export function transposed(op: Operand): Operand {
  return { ...op, rowStride: op.colStride, colStride: op.rowStride };
}
