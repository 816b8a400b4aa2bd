/**
 * calib-linear-input-loss (composite, no shader of its own): for every input candidate c of a linear
 * layer, the squared output error with the input fake-quantized by c. Because
 *   fq(x; c) . wq^T + bias - y = (fq(x; c) - x) . wq^T - r,   r = y - bias - x . wq^T,
 * the candidates' input errors are materialized a chunk at a time (calib-candidate-errors), sent
 * through one matmul, and compared with r (row-sq-diff, reduce-sum).
 */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { add } from './add.js';
import { calibCandidateErrors } from './calib-candidate-errors.js';
import { linear, matmul } from './matmul.js';
import { reduceSum } from './reduce-sum.js';
import { rowSqDiff } from './row-sq-diff.js';

/** Elements of materialized candidate errors per chunk (64 MiB of float32). */
const CHUNK_ELEMENTS = 16 * 1024 * 1024;

/**
 * x [N, K] float input, wq [O, K] (quantized) weight, bias [O], y [N, O] float output; candidate
 * tables [C]. Returns the host losses [C] = sum over (n, o) of the squared output error.
 */
export async function calibLinearInputLoss(ctx: GpuContext, x: Tensor, wq: Tensor, bias: Tensor, y: Tensor, candScale: Tensor, candZeroPoint: Tensor, bits: number): Promise<Float32Array> {
  const [O, K] = wq.shape;
  const N = x.size / K;
  const C = candScale.size;
  const pred = linear(ctx, x, wq, bias, 'calib.input.pred');
  const residual = add(ctx, y, pred, 'calib.input.residual', -1);
  pred.release();
  const chunk = Math.max(1, Math.min(C, Math.floor(CHUNK_ELEMENTS / (N * Math.max(K, O)))));
  const losses = new Float32Array(C);
  for (let first = 0; first < C; first += chunk) {
    const count = Math.min(chunk, C - first);
    // A shorter last chunk needs buffers of other sizes: free the full chunks' first.
    if (count !== chunk) ctx.trimPool();
    const deltas = calibCandidateErrors(ctx, x, { rows: 1, len: N * K, rowStride: 0, elementStride: 1 }, candScale, candZeroPoint, C, first, count, bits);
    const moved = ctx.empty([count * N, O], 'calib.input.moved');
    matmul(ctx, { M: count * N, N: O, K, a: { tensor: deltas, rowStride: K, colStride: 1 }, b: { tensor: wq, rowStride: 1, colStride: K }, c: { tensor: moved, rowStride: O } });
    deltas.release();
    const perRow = rowSqDiff(ctx, moved, residual, O, 'calib.input.rows');
    moved.release();
    const perCandidate = reduceSum(ctx, perRow, count, 'calib.input.loss');
    perRow.release();
    losses.set(await ctx.read(perCandidate), first);
    perCandidate.release();
  }
  residual.release();
  return losses;
}
