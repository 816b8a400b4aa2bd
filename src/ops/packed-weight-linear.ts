/**
 * packed-weight-linear: float inputs times bit-packed integer weights, unpacked in the kernel
 * ([E5], the patch embedding: the image is not quantized, only the weights):
 *   Y[m][n] = sw[n] * sum_k X[m][k] * (Wq[n][k] - zw[n]) (+ bias[n]).
 */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';
import type { UploadedPackedWeight } from './int-linear.js';

export const packedWeightLinearKernel: KernelDescriptor = {
  name: 'packed-weight-linear',
  entryPoint: 'main',
  storage: [
    { name: 'x', access: 'read' },
    { name: 'w', access: 'read' },
    { name: 'sw', access: 'read' },
    { name: 'zw', access: 'read' },
    { name: 'bias', access: 'read' },
    { name: 'y', access: 'read_write' },
  ],
  uniforms: ['M', 'N', 'K', 'tiles_m', 'tiles_n', 'w_rs'].map((name) => ({ name, type: 'u32' as const })),
  overrides: { WG: 64, BITS: 4, HAS_BIAS: 0 },
  cost: ({ uniforms: u, bufferBytes: b }) => ({
    flops: 2 * u.M * u.N * u.K,
    bytes: 4 * (u.M * u.K + u.N * u.w_rs + u.M * u.N) + b[2] + b[3] + b[4],
  }),
};

/** y[..., N] = x[..., K] . dequant(weight)^T + bias, with weight from `uploadPackedWeight` (rows N, cols K). */
export function packedWeightLinear(ctx: GpuContext, x: Tensor, weight: UploadedPackedWeight, bias: Tensor | null, label: string): Tensor {
  const K = weight.cols;
  const N = weight.rows;
  if (x.shape.length === 0 || x.shape[x.shape.length - 1] !== K) throw new Error(`${label}: input [${x.shape}] does not end in ${K}`);
  if (bias && bias.size !== N) throw new Error(`${label}: bias [${bias.shape}] is not [${N}]`);
  const M = x.size / K;
  const y = ctx.empty([...x.shape.slice(0, -1), N], label);
  if (M === 0) return y;
  const tilesM = Math.ceil(M / 4);
  const tilesN = Math.ceil(N / 4);
  ctx.dispatch(
    packedWeightLinearKernel,
    { M, N, K, tiles_m: tilesM, tiles_n: tilesN, w_rs: weight.wordsPerRow },
    [x, weight.codes, weight.scale, weight.zeroPoint, bias ?? ctx.placeholder, y],
    gridFor(tilesM * tilesN, packedWeightLinearKernel.overrides.WG),
    { BITS: weight.bits, HAS_BIAS: bias ? 1 : 0 },
  );
  return y;
}
