/**
 * matmul: strided, batched C = alpha * A.B (+ bias). `linear` is the nn.Linear case Y = X.W^T + b.
 */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const matmulKernel: KernelDescriptor = {
  name: 'matmul',
  entryPoint: 'main',
  storage: [
    { name: 'a', access: 'read' },
    { name: 'b', access: 'read' },
    { name: 'bias', access: 'read' },
    { name: 'c', access: 'read_write' },
  ],
  uniforms: [
    ...['M', 'N', 'K', 'batch', 'inner', 'tiles_m', 'tiles_n', 'a_off', 'a_rs', 'a_cs', 'a_bs', 'a_is', 'b_off', 'b_rs', 'b_cs', 'b_bs', 'b_is', 'c_off', 'c_rs', 'c_bs', 'c_is'].map(
      (name) => ({ name, type: 'u32' as const }),
    ),
    { name: 'alpha', type: 'f32' },
  ],
  overrides: { WG: 64, HAS_BIAS: 0 },
};

/**
 * Where an operand lives: element offset and strides in its buffer. The batch index splits into
 * outer * inner + innerIndex (see `MatmulOptions.inner`), with a stride for each part.
 */
export interface Operand {
  tensor: Tensor;
  offset?: number;
  rowStride: number;
  colStride: number;
  batchStride?: number;
  innerStride?: number;
}

export interface MatmulOptions {
  M: number;
  N: number;
  K: number;
  /** Number of products (outer * inner). */
  batch?: number;
  /** Size of the inner batch dimension (e.g. heads); default 1. */
  inner?: number;
  a: Operand;
  b: Operand;
  c: { tensor: Tensor; offset?: number; rowStride: number; batchStride?: number; innerStride?: number };
  bias?: Tensor;
  alpha?: number;
}

export function matmul(ctx: GpuContext, o: MatmulOptions): void {
  const batch = o.batch ?? 1;
  const inner = o.inner ?? 1;
  if (batch % inner !== 0) throw new Error(`matmul: batch ${batch} is not a multiple of inner ${inner}`);
  const tilesM = Math.ceil(o.M / 8);
  const tilesN = Math.ceil(o.N / 8);
  ctx.dispatch(
    matmulKernel,
    {
      M: o.M, N: o.N, K: o.K, batch, inner, tiles_m: tilesM, tiles_n: tilesN,
      a_off: o.a.offset ?? 0, a_rs: o.a.rowStride, a_cs: o.a.colStride, a_bs: o.a.batchStride ?? 0, a_is: o.a.innerStride ?? 0,
      b_off: o.b.offset ?? 0, b_rs: o.b.rowStride, b_cs: o.b.colStride, b_bs: o.b.batchStride ?? 0, b_is: o.b.innerStride ?? 0,
      c_off: o.c.offset ?? 0, c_rs: o.c.rowStride, c_bs: o.c.batchStride ?? 0, c_is: o.c.innerStride ?? 0,
      alpha: o.alpha ?? 1,
    },
    [o.a.tensor, o.b.tensor, o.bias ?? ctx.placeholder, o.c.tensor],
    gridFor(batch * tilesM * tilesN, matmulKernel.overrides.WG),
    { HAS_BIAS: o.bias ? 1 : 0 },
  );
}

/** nn.Linear: y[rows, out] = x[rows, in] . w[out, in]^T + bias[out]. */
export function linear(ctx: GpuContext, x: Tensor, w: Tensor, bias: Tensor | null, label: string): Tensor {
  const [outFeatures, inFeatures] = w.shape;
  if (x.size % inFeatures !== 0) throw new Error(`${label}: input [${x.shape}] does not end in ${inFeatures}`);
  const rows = x.size / inFeatures;
  const y = ctx.empty([...x.shape.slice(0, -1), outFeatures], label);
  matmul(ctx, {
    M: rows, N: outFeatures, K: inFeatures,
    a: { tensor: x, rowStride: inFeatures, colStride: 1 },
    b: { tensor: w, rowStride: 1, colStride: inFeatures },
    c: { tensor: y, rowStride: outFeatures },
    bias: bias ?? undefined,
  });
  return y;
}
