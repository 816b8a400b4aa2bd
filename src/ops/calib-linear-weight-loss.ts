/** calib-linear-weight-loss: per (output channel, weight candidate) layer-output error via the Gram form. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';
import { CANDIDATE_ERRORS_CHUNK, calibCandidateErrors } from './calib-candidate-errors.js';
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
  uniforms: ['K', 'O', 'C', 'first', 'channels'].map((name) => ({ name, type: 'u32' as const })),
  overrides: { WG: 64 },
  // Each (channel, candidate) of the block reads its rows of deltas and dg and its column of cross.
  cost: ({ uniforms: u }) => ({ flops: 3 * u.channels * u.C * u.K, bytes: 4 * (2 * u.channels * u.C * u.K + u.K * u.O + u.channels * u.C) }),
};

/**
 * Output channels per block of the weight loss: the block's candidate errors and dG, [channels *
 * candidates, K] each, stay within CANDIDATE_ERRORS_CHUNK elements and one storage binding.
 */
export function weightLossBlock(O: number, K: number, candidates: number, bindingBytes: number): number {
  return Math.max(1, Math.min(O, Math.floor(Math.min(CANDIDATE_ERRORS_CHUNK, bindingBytes / 4) / (candidates * K))));
}

/**
 * w [O, K] float weights; gram [K, K] = xq^T xq; cross [K, O] = xq^T r with r = y - bias - xq w^T.
 * Returns loss [O * C] (row-major by channel), equal to the layer-output squared error up to a
 * per-channel constant. The candidates' weight errors are materialized (a block of output channels
 * at a time, see weightLossBlock), so the K x K form runs as a matmul; every (o, c) is computed
 * alone, so the blocks do not change the result.
 */
export function calibLinearWeightLoss(ctx: GpuContext, w: Tensor, gram: Tensor, cross: Tensor, candScale: Tensor, candZeroPoint: Tensor, candidates: number, bits: number): Tensor {
  const [O, K] = w.shape;
  const block = weightLossBlock(O, K, candidates, ctx.maxBindingBytes);
  const loss = ctx.empty([O * candidates], 'calib-linear-weight-loss');
  for (let first = 0; first < O; first += block) {
    const channels = Math.min(block, O - first);
    // A shorter last block needs buffers of other sizes: free the full blocks' first.
    if (channels !== block) ctx.trimPool();
    /** The block's rows of a [O, per] tensor (the tensor itself when one block covers it). */
    const rowsOf = (t: Tensor, per: number, label: string): Tensor => {
      if (channels === O) return t;
      const part = ctx.empty([channels * per], `calib-linear-weight-loss.${label}`);
      ctx.copy(t, part, channels * per, first * per, 0);
      return part;
    };
    const [wb, sb, zb] = [rowsOf(w, K, 'w'), rowsOf(candScale, candidates, 'scale'), rowsOf(candZeroPoint, candidates, 'zero_point')];
    const deltas = calibCandidateErrors(ctx, wb, { rows: channels, len: K, rowStride: K, elementStride: 1 }, sb, zb, candidates, 0, candidates, bits);
    if (channels !== O) for (const t of [wb, sb, zb]) t.release();
    const rows = channels * candidates;
    const dg = ctx.empty([rows, K], 'calib-linear-weight-loss.dg');
    // splitK false: a row's dG must not depend on the block's size.
    matmul(ctx, { M: rows, N: K, K, a: { tensor: deltas, rowStride: K, colStride: 1 }, b: { tensor: gram, rowStride: K, colStride: 1 }, c: { tensor: dg, rowStride: K }, splitK: false });
    ctx.dispatch(calibLinearWeightLossKernel, { K, O, C: candidates, first, channels }, [deltas, dg, cross, loss], gridFor(rows, calibLinearWeightLossKernel.overrides.WG));
    deltas.release();
    dg.release();
  }
  return loss;
}
