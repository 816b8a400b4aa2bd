/** calib-linear-input-loss: per activation candidate, the layer-output squared error (fused fake-quant matmul). */
import type { GpuContext, Tensor } from '../runtime/context.js';
import type { KernelDescriptor } from '../runtime/kernel.js';
import { reduceSum } from './reduce-sum.js';

export const calibLinearInputLossKernel: KernelDescriptor = {
  name: 'calib-linear-input-loss',
  entryPoint: 'main',
  storage: [
    { name: 'x', access: 'read' },
    { name: 'w', access: 'read' },
    { name: 'bias', access: 'read' },
    { name: 'y', access: 'read' },
    { name: 'cand_scale', access: 'read' },
    { name: 'cand_zero_point', access: 'read' },
    { name: 'partial', access: 'read_write' },
  ],
  uniforms: [
    ...['N', 'K', 'O', 'C', 'tiles_o', 'tiles'].map((name) => ({ name, type: 'u32' as const })),
    { name: 'qmax', type: 'f32' },
  ],
  overrides: { WG_X: 8, WG_Y: 8 },
};

/**
 * x [N, K] float input, w [O, K] (quantized) weight, bias [O], y [N, O] float output; candidate
 * tables [C]. Returns loss [C] = sum over (n, o) of the squared output error.
 */
export function calibLinearInputLoss(ctx: GpuContext, x: Tensor, w: Tensor, bias: Tensor, y: Tensor, candScale: Tensor, candZeroPoint: Tensor, bits: number): Tensor {
  const [O, K] = w.shape;
  const N = x.size / K;
  const C = candScale.size;
  const { WG_X, WG_Y } = calibLinearInputLossKernel.overrides;
  const gx = Math.ceil(O / (4 * WG_X));
  const gy = Math.ceil(N / (4 * WG_Y));
  const tilesO = gx * WG_X;
  const tiles = tilesO * gy * WG_Y;
  const partial = ctx.empty([C * tiles], 'calib-linear-input-loss.partial');
  // Tiles past the edge of (N, O) write nothing: clear the buffer so they add zero.
  ctx.clear(partial);
  ctx.dispatch(calibLinearInputLossKernel, { N, K, O, C, tiles_o: tilesO, tiles, qmax: 2 ** bits - 1 }, [x, w, bias, y, candScale, candZeroPoint, partial], [gx, gy, C]);
  const loss = reduceSum(ctx, partial, C, 'calib-linear-input-loss');
  partial.release();
  return loss;
}
