/** calib-linear-weight-loss: per (output channel, weight candidate) layer-output error via the Gram form. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const calibLinearWeightLossKernel: KernelDescriptor = {
  name: 'calib-linear-weight-loss',
  entryPoint: 'main',
  storage: [
    { name: 'w', access: 'read' },
    { name: 'gram', access: 'read' },
    { name: 'cross', access: 'read' },
    { name: 'cand_scale', access: 'read' },
    { name: 'cand_zero_point', access: 'read' },
    { name: 'loss', access: 'read_write' },
  ],
  uniforms: [
    ...['K', 'O', 'C'].map((name) => ({ name, type: 'u32' as const })),
    { name: 'qmax', type: 'f32' },
  ],
  overrides: { WG: 64 },
};

/**
 * w [O, K] float weights; gram [K, K] = xq^T xq; cross [K, O] = xq^T r with r = y - bias - xq w^T.
 * Returns loss [O * C] (row-major by channel), equal to the layer-output squared error up to a
 * per-channel constant.
 */
export function calibLinearWeightLoss(ctx: GpuContext, w: Tensor, gram: Tensor, cross: Tensor, candScale: Tensor, candZeroPoint: Tensor, candidates: number, bits: number): Tensor {
  const [O, K] = w.shape;
  const loss = ctx.empty([O * candidates], 'calib-linear-weight-loss');
  ctx.dispatch(
    calibLinearWeightLossKernel,
    { K, O, C: candidates, qmax: 2 ** bits - 1 },
    [w, gram, cross, candScale, candZeroPoint, loss],
    gridFor(O * candidates, calibLinearWeightLossKernel.overrides.WG),
  );
  return loss;
}
