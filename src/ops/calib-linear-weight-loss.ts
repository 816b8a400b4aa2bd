/** calib-linear-weight-loss: per (output channel, weight candidate) layer-output error via the Gram form. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';
import { calibCandidateErrors } from './calib-candidate-errors.js';
import { matmul } from './matmul.js';

export const calibLinearWeightLossKernel: KernelDescriptor = {
  name: 'calib-linear-weight-loss',
  entryPoint: 'main',
  storage: [
    { name: 'deltas', access: 'read' },
    { name: 'dg', access: 'read' },
    { name: 'cross', access: 'read' },
    { name: 'loss', access: 'read_write' },
  ],
  uniforms: ['K', 'O', 'C'].map((name) => ({ name, type: 'u32' as const })),
  overrides: { WG: 64 },
};

/**
 * w [O, K] float weights; gram [K, K] = xq^T xq; cross [K, O] = xq^T r with r = y - bias - xq w^T.
 * Returns loss [O * C] (row-major by channel), equal to the layer-output squared error up to a
 * per-channel constant. The candidates' weight errors are materialized once, so the K x K form
 * runs as a matmul.
 */
export function calibLinearWeightLoss(ctx: GpuContext, w: Tensor, gram: Tensor, cross: Tensor, candScale: Tensor, candZeroPoint: Tensor, candidates: number, bits: number): Tensor {
  const [O, K] = w.shape;
  const deltas = calibCandidateErrors(ctx, w, { rows: O, len: K, rowStride: K, elementStride: 1 }, candScale, candZeroPoint, candidates, 0, candidates, bits);
  const rows = O * candidates;
  const dg = ctx.empty([rows, K], 'calib-linear-weight-loss.dg');
  matmul(ctx, { M: rows, N: K, K, a: { tensor: deltas, rowStride: K, colStride: 1 }, b: { tensor: gram, rowStride: K, colStride: 1 }, c: { tensor: dg, rowStride: K } });
  const loss = ctx.empty([rows], 'calib-linear-weight-loss');
  ctx.dispatch(calibLinearWeightLossKernel, { K, O, C: candidates }, [deltas, dg, cross, loss], gridFor(rows, calibLinearWeightLossKernel.overrides.WG));
  deltas.release();
  dg.release();
  return loss;
}
