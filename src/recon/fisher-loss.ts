/**
 * The FIMA-Q reconstruction loss on the GPU (../shared/docs/fimaq-method.md §6.2): with
 * delta = |yhat - y|, the low-rank projections A = delta.Gᵀ (project-rows, split over D) and
 * C = A.Binv, the loss terms
 * L_LR = mean_b A_b Binv A_bᵀ and L_Diag = mean_{b,d} gbar_d delta², and the gradient of
 * p1 L_LR / L_LR⁰ + p2 L_Diag / L_Diag⁰ with respect to yhat (through E = C.G). Nothing is read back:
 * the normalisers L⁰ live in a storage buffer, set by a copy at the first step after a snapshot.
 */
import { absDiff } from '../ops/abs-diff.js';
import { dplrGrad } from '../ops/dplr-grad.js';
import { dplrLoss } from '../ops/dplr-loss.js';
import { matmul } from '../ops/matmul.js';
import { projectRows } from '../ops/project-rows.js';
import type { GpuContext, Tensor } from '../runtime/context.js';

/** The Fisher approximation of one unit: rank rows of G, their mean, and inv(Δ̄Δ̄ᵀ + damping). */
export interface FisherState {
  /** [rank, D] mean |gradient| per snapshot. */
  g: Tensor;
  /** [D] mean of the rows of g. */
  gbar: Tensor;
  /** [rank, rank], symmetric. */
  binv: Tensor;
  rank: number;
}

export interface DplrWeights {
  p1: number;
  p2: number;
}

/**
 * Records the loss terms into `losses` ([2]: L_LR, L_Diag) and returns dL/dyhat. With `setNorm`
 * the terms of this step become the normalisers (`norm`, [2]) first.
 */
export function dplrLossAndGrad(
  ctx: GpuContext,
  yhat: Tensor,
  y: Tensor,
  f: FisherState,
  w: DplrWeights,
  losses: Tensor,
  norm: Tensor,
  setNorm: boolean,
  label: string,
): Tensor {
  const D = f.gbar.size;
  const B = yhat.size / D;
  const r = f.rank;
  const delta = absDiff(ctx, yhat, y, `${label}.delta`);
  const a = projectRows(ctx, delta, f.g, r, `${label}.A`);
  delta.release();
  const c = ctx.empty([B, r], `${label}.C`);
  matmul(ctx, { M: B, N: r, K: r, a: { tensor: a, rowStride: r, colStride: 1 }, b: { tensor: f.binv, rowStride: r, colStride: 1 }, c: { tensor: c, rowStride: r } });
  dplrLoss(ctx, yhat, y, f.gbar, a, c, losses);
  a.release();
  if (setNorm) ctx.copy(losses, norm, 2);
  const e = ctx.empty(yhat.shape, `${label}.E`);
  matmul(ctx, { M: B, N: D, K: r, a: { tensor: c, rowStride: r, colStride: 1 }, b: { tensor: f.g, rowStride: D, colStride: 1 }, c: { tensor: e, rowStride: D } });
  c.release();
  const grad = dplrGrad(ctx, yhat, y, f.gbar, e, norm, w.p1, w.p2, label);
  e.release();
  return grad;
}
