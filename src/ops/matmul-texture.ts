/**
 * matmul-texture: C = alpha * A.B^T (+ bias) with A [M, K] and B [N, K] as row textures, the 'cpu'
 * tuning's product (see `matmul`, which chooses it, and `GpuContext.rowTexture`).
 */
import type { GpuContext, RowTexture, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const matmulTextureKernel: KernelDescriptor = {
  name: 'matmul-texture',
  entryPoint: 'main',
  storage: [
    { name: 'bias', access: 'read' },
    { name: 'c', access: 'read_write' },
  ],
  textures: [{ name: 'ta' }, { name: 'tb' }],
  uniforms: [
    ...['M', 'N', 'kw', 'a_rpb', 'b_rpb', 'tiles_n', 'c_off', 'c_rs'].map((name) => ({ name, type: 'u32' as const })),
    { name: 'alpha', type: 'f32' },
  ],
  overrides: { WG: 64, HAS_BIAS: 0 },
  libraries: ['matmul-store'],
  // The textures are not bound buffers: A and B read once, C written once.
  cost: ({ uniforms: u, overrides: o }) => ({
    flops: 2 * u.M * u.N * 4 * u.kw,
    bytes: 4 * (4 * u.kw * (u.M + u.N) + u.M * u.N + (o.HAS_BIAS ? u.N : 0)),
  }),
};

export interface MatmulTextureOptions {
  /** A's rows: [M, K]. */
  a: RowTexture;
  /** B's rows: [N, K] (C = A.B^T). */
  b: RowTexture;
  c: { tensor: Tensor; offset?: number; rowStride: number };
  bias?: Tensor;
  alpha?: number;
}

export function matmulTexture(ctx: GpuContext, o: MatmulTextureOptions): void {
  const { a, b } = o;
  if (a.cols !== b.cols) throw new Error(`matmul-texture: A has rows of ${a.cols} values, B of ${b.cols}`);
  const tilesN = Math.ceil(b.rows / 8);
  ctx.dispatch(
    matmulTextureKernel,
    {
      M: a.rows, N: b.rows, kw: a.cols / 4, a_rpb: a.rowsPerBlock, b_rpb: b.rowsPerBlock, tiles_n: tilesN,
      c_off: o.c.offset ?? 0, c_rs: o.c.rowStride, alpha: o.alpha ?? 1,
    },
    [o.bias ?? ctx.placeholder, o.c.tensor],
    gridFor(Math.ceil(a.rows / 8) * tilesN, matmulTextureKernel.overrides.WG),
    { HAS_BIAS: o.bias ? 1 : 0 },
    [a, b],
  );
}
