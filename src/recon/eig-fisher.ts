/**
 * eig-fim (beyond the paper, issue [E10]): the diagonal-plus-low-rank loss built from the empirical
 * Fisher matrix's own eigenvectors. FIMA-Q's code builds both of its terms from one mean |gradient|
 * vector per snapshot, which misses the main directions of F = (1/n) Σ_i g_i g_iᵀ (every gradient
 * reaching a pre-LN block's output is mean-free over channels). Here a refresh keeps every image's
 * gradient g_i (KL at temperature T through the float tail, as the snapshots), finds F's top-k
 * eigenpairs (u_r, λ_r) by randomized subspace iteration without forming F, and the loss of a
 * minibatch is
 *   L = (1/B) Σ_b [ Σ_j d_j Δ_bj² + Σ_r λ_r (u_rᵀ Δ_b)² ],   d = max(diag F − diag UΛUᵀ, 0),
 * with Δ_b = ŷ_b − y_b signed. Scale: the whole form divided by its value at the first step after
 * each refresh, times 2 (w / L⁰). One normaliser, not one per term as FIMA-Q: the eigen part and the
 * diagonal keep F's own proportions, and the loss starts at 2 like FIMA-Q's two self-normalised terms
 * (and diag-fim's and lr-fim's 2 L / L⁰), so the learning rates carry over.
 */
import { absAccumulate } from '../ops/abs-accumulate.js';
import { add } from '../ops/add.js';
import { dplrLoss } from '../ops/dplr-loss.js';
import { eigFimGrad } from '../ops/eig-fim-grad.js';
import { matmul } from '../ops/matmul.js';
import { projectRows } from '../ops/project-rows.js';
import type { GpuContext, Tensor } from '../runtime/context.js';
import { RowCache } from '../quant/capture.js';
import { uniforms } from '../util/prng.js';
import { symmetricEigen } from './fim-picture.js';
import { type FisherTail, type SnapshotInputs, snapshotPass } from './fisher.js';
import type { UnitLoss } from './losses.js';
import type { NoiseSource, ReconUnit } from './units.js';

/** Extra directions of the subspace iteration beyond the k wanted (randomized range finder). */
export const EIG_OVERSAMPLE = 8;
/** Power iterations F·Q before the Rayleigh-Ritz step. */
export const EIG_ITERATIONS = 4;
/** The self-normalised loss starts at this value after each refresh (as FIMA-Q's p1 + p2). */
export const EIG_WEIGHT = 2;

export interface SubspaceOptions {
  rank: number;
  oversample?: number;
  iterations?: number;
  /** Seed of the random start. */
  seed: number;
}

/** F's top eigenpairs, largest first: values [k] and unit vectors [k][D] (float64). */
export interface Eigenpairs {
  values: Float64Array;
  vectors: Float64Array[];
}

/**
 * Orthonormalises the rows in place (modified Gram-Schmidt, twice for float64 stability); a row
 * that vanishes (a rank-deficient block) is replaced by a fresh random direction.
 */
export function orthonormalizeRows(rows: Float64Array[], seed: number): void {
  rows.forEach((row, i) => {
    for (let attempt = 0; ; attempt++) {
      const before = Math.sqrt(row.reduce((s, v) => s + v * v, 0));
      for (let pass = 0; pass < 2; pass++)
        for (let j = 0; j < i; j++) {
          let dot = 0;
          for (let d = 0; d < row.length; d++) dot += row[d] * rows[j][d];
          for (let d = 0; d < row.length; d++) row[d] -= dot * rows[j][d];
        }
      const norm = Math.sqrt(row.reduce((s, v) => s + v * v, 0));
      if (norm > 0 && norm > 1e-10 * before) {
        for (let d = 0; d < row.length; d++) row[d] /= norm;
        return;
      }
      if (attempt > 3) throw new Error(`orthonormalizeRows: no direction left for row ${i} of ${rows.length} (length ${row.length})`);
      row.set(uniforms(seed, 1000 + i * 8 + attempt, row.length).map((u) => u - 0.5));
    }
  });
}

/** Y = G·Qᵀ [count, m] for the cached rows G (chunk by chunk, project-rows over the long D). */
function projectCache(ctx: GpuContext, grads: RowCache, q: Tensor, m: number, label: string): Tensor {
  const y = ctx.empty([grads.count, m], label);
  grads.chunks.forEach((chunk, c) => {
    const part = projectRows(ctx, chunk, q, m, `${label}.part`);
    ctx.copy(part, y, part.size, 0, c * grads.rowsPerChunk * m);
    part.release();
  });
  return y;
}

/**
 * F's top `rank` eigenpairs for F = (1/n) Σ_i g_i g_iᵀ, with the n rows g_i in `grads` [n, D], by
 * randomized subspace iteration: Q (m = rank + oversample orthonormal rows) ← orth(Gᵀ (G Qᵀ)), the
 * two streamed products on the GPU (project-rows over D, then a matmul over the images, chunk by
 * chunk), orthonormalised on the host in float64; then the Rayleigh-Ritz step on Qᵀ F Q (m x m).
 * F itself is never formed.
 */
export async function topEigenpairs(ctx: GpuContext, grads: RowCache, o: SubspaceOptions): Promise<Eigenpairs> {
  const n = grads.count;
  const D = grads.rowSize;
  const m = Math.min(D, o.rank + (o.oversample ?? EIG_OVERSAMPLE));
  const rows = Array.from({ length: m }, (_, i) => uniforms(o.seed, i, D).map((u) => u - 0.5));
  orthonormalizeRows(rows, o.seed);
  const upload = () => {
    const flat = new Float32Array(m * D);
    rows.forEach((r, i) => flat.set(r, i * D));
    return ctx.upload(flat, [m, D], 'eig.q');
  };
  for (let it = 0; it < (o.iterations ?? EIG_ITERATIONS); it++) {
    const q = upload();
    const y = projectCache(ctx, grads, q, m, 'eig.gq');
    q.release();
    // Zᵀ = Yᵀ G [m, D], summed over the chunks of images.
    const z = ctx.empty([m, D], 'eig.z');
    grads.chunks.forEach((chunk, c) => {
      const rowsIn = chunk.shape[0]!;
      matmul(ctx, {
        M: m, N: D, K: rowsIn,
        a: { tensor: y, offset: c * grads.rowsPerChunk * m, rowStride: 1, colStride: m },
        b: { tensor: chunk, rowStride: D, colStride: 1 },
        c: { tensor: z, rowStride: D },
        accumulate: c > 0,
      });
    });
    y.release();
    const zHost = await ctx.read(z);
    z.release();
    rows.forEach((r, i) => r.set(zHost.subarray(i * D, (i + 1) * D)));
    orthonormalizeRows(rows, o.seed + it + 1);
  }
  // Rayleigh-Ritz: T = Q F Qᵀ = (G Qᵀ)ᵀ (G Qᵀ) / n, and F's eigenvectors in the subspace.
  const q = upload();
  const y = projectCache(ctx, grads, q, m, 'eig.gq');
  q.release();
  const yHost = await ctx.read(y);
  y.release();
  const t = new Float64Array(m * m);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) t[a * m + b] += (yHost[i * m + a] * yHost[i * m + b]) / n;
  const { values, vectors } = symmetricEigen(t, m);
  const order = Array.from(values.keys()).sort((a, b) => values[b] - values[a]).slice(0, Math.min(o.rank, m));
  return {
    values: Float64Array.from(order, (e) => Math.max(values[e], 0)),
    vectors: order.map((e) => {
      const u = new Float64Array(D);
      for (let j = 0; j < m; j++) {
        const w = vectors[j * m + e];
        for (let d = 0; d < D; d++) u[d] += w * rows[j][d];
      }
      return u;
    }),
  };
}

/** The loss's matrix on the GPU: V = diag(λ^(p/2)) U [rank, D] and d^p [D] (p = 1: diag d + UΛUᵀ). */
export interface EigFisherState {
  v: Tensor;
  diag: Tensor;
  rank: number;
}

/** d = max(diag F − diag UΛUᵀ, 0) from F's diagonal and its top eigenpairs (float64). */
export function residualDiagonal(diagF: ArrayLike<number>, eig: Eigenpairs): Float64Array {
  return Float64Array.from(diagF, (f, j) => {
    let low = 0;
    eig.vectors.forEach((u, r) => (low += eig.values[r] * u[j] * u[j]));
    return Math.max(f - low, 0);
  });
}

/** The share of Σ_r λ_r ‖u_r‖² = Σ_r λ_r that falls on the first `entries` entries of the vectors. */
export function leadingShare(eig: Eigenpairs, entries: number): number {
  let lead = 0;
  let all = 0;
  eig.vectors.forEach((u, r) => {
    for (let j = 0; j < entries; j++) lead += eig.values[r] * u[j] * u[j];
    all += eig.values[r];
  });
  return all > 0 ? lead / all : 0;
}

/**
 * `power` p raises the spectrum: diag d^p + U Λ^p Uᵀ. The snapshot gradients are taken at the
 * quantized point, g ≈ H Δ with H the KL's curvature, so F ≈ H E[ΔΔᵀ] H grows like H²: p = 1/2
 * scales like H itself (exactly when the errors are isotropic and the residual diagonal).
 */
export function uploadEigFisher(ctx: GpuContext, eig: Eigenpairs, diag: Float64Array, power = 1): EigFisherState {
  const D = diag.length;
  const rank = eig.values.length;
  const v = new Float32Array(rank * D);
  eig.vectors.forEach((u, r) => {
    const s = Math.max(eig.values[r], 0) ** (power / 2);
    for (let d = 0; d < D; d++) v[r * D + d] = s * u[d];
  });
  return { v: ctx.upload(v, [rank, D], 'eig.v'), diag: ctx.upload(Float32Array.from(diag, (x) => x ** power), [D], 'eig.d'), rank };
}

/**
 * Records the two terms into `losses` ([2]: (1/B) Σ_b |Δ_b Vᵀ|², (1/B) Σ_b Σ_j d_j Δ_bj²) and
 * returns dL/dyhat of L = EIG_WEIGHT (sum of the terms) / (sum of `norm`); with `setNorm` this
 * step's terms become `norm` first.
 */
export function eigFimLossAndGrad(ctx: GpuContext, yhat: Tensor, y: Tensor, f: EigFisherState, losses: Tensor, norm: Tensor, setNorm: boolean, label: string): Tensor {
  const D = f.diag.size;
  const B = yhat.size / D;
  const delta = add(ctx, yhat, y, `${label}.delta`, -1);
  const a = projectRows(ctx, delta, f.v, f.rank, `${label}.A`);
  delta.release();
  dplrLoss(ctx, yhat, y, f.diag, a, a, losses, true);
  if (setNorm) ctx.copy(losses, norm, 2);
  const e = ctx.empty(yhat.shape, `${label}.E`);
  matmul(ctx, { M: B, N: D, K: f.rank, a: { tensor: a, rowStride: f.rank, colStride: 1 }, b: { tensor: f.v, rowStride: D, colStride: 1 }, c: { tensor: e, rowStride: D } });
  a.release();
  const grad = eigFimGrad(ctx, yhat, y, f.diag, e, norm, EIG_WEIGHT, label);
  e.release();
  return grad;
}

/** What a unit's refreshes found: how much of F's trace the rank-k part holds, and its eigenvalues (the last refresh). */
export interface EigenSummary {
  refreshes: number;
  /** Σ_r λ_r / trace F. */
  capturedShare: number;
  values: number[];
}

export interface EigFisherInputs {
  unit: ReconUnit;
  tail: FisherTail;
  snapshots: Omit<SnapshotInputs, 'noise'>;
  /** QDrop noise of refresh `refresh`, batch `batchIndex`. */
  noise: (refresh: number, batchIndex: number) => NoiseSource;
  rank: number;
  /** The loss's matrix is diag d^power + U Λ^power Uᵀ (see uploadEigFisher). */
  power: number;
  /** Whether step `it` refreshes U, λ and d. */
  due: (it: number) => boolean;
  seed: number;
  /** A cache of the per-image gradients [count, D]. */
  makeCache: (rowShape: readonly number[]) => RowCache;
}

/** The eig-fim loss of one unit, refreshed on the snapshot schedule (or once, at the first step). */
export class EigFisherLoss implements UnitLoss {
  private readonly losses: Tensor;
  private readonly norm: Tensor;
  private state: EigFisherState | null = null;
  private grads: RowCache | null = null;
  private setNorm = false;
  private refreshes = 0;
  private summary: EigenSummary | null = null;

  constructor(private readonly ctx: GpuContext, private readonly inputs: EigFisherInputs) {
    this.losses = ctx.empty([2], 'recon.eig.losses');
    this.norm = ctx.empty([2], 'recon.eig.norm');
  }

  async prepare(it: number): Promise<void> {
    if (!this.inputs.due(it)) return;
    const { ctx } = this;
    const s = this.inputs;
    const D = s.snapshots.yFp.rowSize;
    const refresh = this.refreshes++;
    this.grads ??= s.makeCache(s.snapshots.yFp.rowShape);
    const grads = this.grads;
    const squares = ctx.empty([D], 'recon.eig.diag_f');
    ctx.clear(squares);
    snapshotPass(ctx, s.unit, s.tail, { ...s.snapshots, noise: (k) => s.noise(refresh, k) }, (g, _z, from, rows) => {
      // The pass's KL is a batch mean: times the batch's rows, each image's own gradient, alike in a short last batch.
      const own = add(ctx, g, g, 'recon.eig.g', rows - 1);
      grads.put(own, from);
      absAccumulate(ctx, own, null, squares, true);
      own.release();
    });
    const n = grads.count;
    const diagF = Float64Array.from(await ctx.read(squares), (v) => v / n);
    squares.release();
    const eig = await topEigenpairs(ctx, grads, { rank: s.rank, seed: (s.seed + refresh * 7919) >>> 0 });
    this.releaseState();
    this.state = uploadEigFisher(ctx, eig, residualDiagonal(diagF, eig), s.power);
    const trace = diagF.reduce((a, b) => a + b, 0);
    this.summary = { refreshes: this.refreshes, capturedShare: trace > 0 ? eig.values.reduce((a, b) => a + b, 0) / trace : 0, values: Array.from(eig.values) };
    this.setNorm = true;
    // The pass's buffers (the tail's forward and backward) are not needed by the steps.
    ctx.trimPool();
  }

  grad(y: Tensor, target: Tensor): Tensor {
    if (!this.state) throw new Error('EigFisherLoss: no refresh before the first step');
    const g = eigFimLossAndGrad(this.ctx, y, target, this.state, this.losses, this.norm, this.setNorm, 'recon.eig');
    this.setNorm = false;
    return g;
  }

  async value(): Promise<number> {
    const [lowRank, diag] = await this.ctx.read(this.losses);
    const [n0, n1] = await this.ctx.read(this.norm);
    return (EIG_WEIGHT * (lowRank + diag)) / (n0 + n1);
  }

  eigenSummary(): EigenSummary | null {
    return this.summary;
  }

  private releaseState(): void {
    if (!this.state) return;
    this.state.v.release();
    this.state.diag.release();
    this.state = null;
  }

  release(): void {
    this.releaseState();
    this.grads?.release();
    this.losses.release();
    this.norm.release();
    this.inputs.tail.release();
  }
}
