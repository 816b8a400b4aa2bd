/**
 * calib-linear-input-loss (composite, no shader of its own): for every input candidate c of a linear
 * layer, the squared output error with the input fake-quantized by c. Because
 *   fq(x; c) . wq^T + bias - y = (fq(x; c) - x) . wq^T - r,   r = y - bias - x . wq^T,
 * the candidates' input errors are materialized a chunk at a time (calib-candidate-errors), sent
 * through one matmul, and compared with r (row-sq-diff, reduce-sum).
 */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { add } from './add.js';
import { CANDIDATE_ERRORS_CHUNK, calibCandidateErrors } from './calib-candidate-errors.js';
import { linear, matmul } from './matmul.js';
import { reduceSum } from './reduce-sum.js';
import { rowSqDiff } from './row-sq-diff.js';

/**
 * Candidates per chunk of the input loss over N rows that come in chunks of at most `chunkRows`
 * rows: a chunk's candidate errors and their products through wq, [count * chunkRows, max(K, O)],
 * stay within CANDIDATE_ERRORS_CHUNK elements and one binding, and its per-row losses [count, N]
 * within one binding.
 */
export function inputLossCandidates(C: number, N: number, chunkRows: number, K: number, O: number, bindingBytes: number): number {
  const binding = bindingBytes / 4;
  return Math.max(1, Math.min(C, Math.floor(Math.min(CANDIDATE_ERRORS_CHUNK, binding) / (chunkRows * Math.max(K, O))), Math.floor(binding / N)));
}

const chunksOf = (t: Tensor | readonly Tensor[]): readonly Tensor[] => ('buffer' in t ? [t] : t);

/**
 * x [N, K] float input, wq [O, K] (quantized) weight, bias [O], y [N, O] float output; candidate
 * tables [C]. x and y may come as chunks of whole rows (the same rows in both). Returns the host
 * losses [C] = sum over (n, o) of the squared output error, each candidate's rows summed in row
 * order whatever the chunks.
 */
export async function calibLinearInputLoss(
  ctx: GpuContext, x: Tensor | readonly Tensor[], wq: Tensor, bias: Tensor, y: Tensor | readonly Tensor[], candScale: Tensor, candZeroPoint: Tensor, bits: number,
): Promise<Float32Array> {
  const [xs, ys] = [chunksOf(x), chunksOf(y)];
  const [O, K] = wq.shape;
  const rows = xs.map((t) => t.size / K);
  if (ys.length !== xs.length || ys.some((t, i) => t.size !== rows[i] * O)) throw new Error('calib-linear-input-loss: x and y chunks differ');
  const N = rows.reduce((a, b) => a + b, 0);
  const C = candScale.size;
  const residuals = xs.map((xc, i) => {
    // A row's result must not depend on its chunk's row count (or the candidates' count, below).
    const pred = linear(ctx, xc, wq, bias, 'calib.input.pred', { splitK: false });
    const residual = add(ctx, ys[i], pred, 'calib.input.residual', -1);
    pred.release();
    return residual;
  });
  const chunk = inputLossCandidates(C, N, Math.max(...rows), K, O, ctx.maxBindingBytes);
  /** Squared output errors [count, rows] of candidates first.. on row chunk i. */
  const rowLosses = (i: number, first: number, count: number): Tensor => {
    const deltas = calibCandidateErrors(ctx, xs[i], { rows: 1, len: rows[i] * K, rowStride: 0, elementStride: 1 }, candScale, candZeroPoint, C, first, count, bits);
    const moved = ctx.empty([count * rows[i], O], 'calib.input.moved');
    matmul(ctx, { M: count * rows[i], N: O, K, a: { tensor: deltas, rowStride: K, colStride: 1 }, b: { tensor: wq, rowStride: 1, colStride: K }, c: { tensor: moved, rowStride: O }, splitK: false });
    deltas.release();
    const perRow = rowSqDiff(ctx, moved, residuals[i], O, 'calib.input.rows');
    moved.release();
    return perRow;
  };
  const losses = new Float32Array(C);
  for (let first = 0; first < C; first += chunk) {
    const count = Math.min(chunk, C - first);
    // A shorter last chunk needs buffers of other sizes: free the full chunks' first.
    if (count !== chunk) ctx.trimPool();
    let perRow: Tensor;
    if (xs.length === 1) {
      perRow = rowLosses(0, first, count);
    } else {
      // Each candidate's rows side by side, so reduce-sum adds them in row order.
      perRow = ctx.empty([count * N], 'calib.input.all-rows');
      for (let i = 0, row0 = 0; i < xs.length; row0 += rows[i], i++) {
        const part = rowLosses(i, first, count);
        for (let c = 0; c < count; c++) ctx.copy(part, perRow, rows[i], c * rows[i], c * N + row0);
        part.release();
      }
    }
    const perCandidate = reduceSum(ctx, perRow, count, 'calib.input.loss');
    perRow.release();
    losses.set(await ctx.read(perCandidate), first);
    perCandidate.release();
  }
  for (const r of residuals) r.release();
  return losses;
}
