/**
 * Reconstruction losses of a unit (../shared/docs/fimaq-method.md §5-§7): the output MSE (QDrop*),
 * the head's KL on logits, and the Fisher-weighted losses of FIMA-Q (DPLR-FIM) and its ablations
 * (diag-FIM, LR-FIM), which refresh their Fisher approximation with snapshots along the way.
 * Each step's loss and gradient stay on the GPU; `value()` reads the loss back for progress.
 */
import { klGrad } from '../ops/kl-grad.js';
import { klLoss } from '../ops/kl-loss.js';
import { mseGrad } from '../ops/mse-grad.js';
import { mseLoss } from '../ops/mse-loss.js';
import type { GpuContext, Tensor } from '../runtime/context.js';
import type { RowCache } from '../quant/capture.js';
import { type FisherTail, fisherSnapshot } from './fisher.js';
import { type FisherState, dplrLossAndGrad } from './fisher-loss.js';
import type { EigenSummary } from './eig-fisher.js';
import type { NoiseSource, ReconUnit } from './units.js';

export interface UnitLoss {
  /** Runs before step `it` (Fisher snapshots happen here; they may read back). */
  prepare(it: number): Promise<void>;
  /** Records the loss of this step and returns dL/dy; `indices` are the minibatch's samples (u32). */
  grad(y: Tensor, target: Tensor, it: number, indices: Tensor): Tensor;
  /** The last step's loss (a readback). */
  value(): Promise<number>;
  /** What the Fisher snapshots of this unit looked like (snapshot losses only). */
  snapshotSummary?(): SnapshotSummary;
  /** What eig-fim's eigenpairs of this unit looked like (null before its first refresh). */
  eigenSummary?(): EigenSummary | null;
  release(): void;
}

/**
 * How alike a unit's snapshots came out: the smallest cosine between two rows of G (mean |g|) and
 * between two rows of Δ̄ (mean |ŷ − y|). Near 1, the rank-k term is in effect rank 1 and Δ̄Δ̄ᵀ is
 * near-singular (what the damping is for).
 */
export interface SnapshotSummary {
  snapshots: number;
  gradMinCosine: number;
  errorMinCosine: number;
}

/** The smallest cosine between two of the rows (1 for fewer than two rows), summed in float64. */
export function minPairCosine(rows: Float32Array[]): number {
  const norms = rows.map((r) => Math.sqrt(r.reduce((s, v) => s + v * v, 0)));
  let min = 1;
  for (let i = 0; i < rows.length; i++)
    for (let j = i + 1; j < rows.length; j++) {
      let dot = 0;
      for (let d = 0; d < rows[i].length; d++) dot += rows[i][d] * rows[j][d];
      min = Math.min(min, dot / (norms[i] * norms[j]));
    }
  return min;
}

/** Output MSE, Σ over the output of each sample, mean over the batch, divided by its first value. */
export class MseLoss implements UnitLoss {
  private readonly loss: Tensor;
  private readonly first: Tensor;
  constructor(private readonly ctx: GpuContext) {
    this.loss = ctx.empty([1], 'recon.mse');
    this.first = ctx.empty([1], 'recon.mse0');
  }
  async prepare(): Promise<void> {}
  grad(y: Tensor, target: Tensor, it: number): Tensor {
    const rows = y.shape[0];
    mseLoss(this.ctx, y, target, rows, this.loss, 0);
    if (it === 0) this.ctx.copy(this.loss, this.first);
    return mseGrad(this.ctx, y, target, rows, this.first, 0, 'recon.dy');
  }
  async value(): Promise<number> {
    return (await this.ctx.read(this.loss))[0] / (await this.ctx.read(this.first))[0];
  }
  release(): void {
    this.loss.release();
    this.first.release();
  }
}

/** KL(softmax(target) || softmax(y)) on logits, batchmean: the head unit. */
export class KlLoss implements UnitLoss {
  private readonly loss: Tensor;
  constructor(private readonly ctx: GpuContext) {
    this.loss = ctx.empty([1], 'recon.kl');
  }
  async prepare(): Promise<void> {}
  grad(y: Tensor, target: Tensor): Tensor {
    const rows = y.shape[0];
    klLoss(this.ctx, y, target, rows, this.loss, 0);
    return klGrad(this.ctx, y, target, rows, 'recon.dy');
  }
  async value(): Promise<number> {
    return (await this.ctx.read(this.loss))[0];
  }
  release(): void {
    this.loss.release();
  }
}

/**
 * BRECQ's Fisher (the method's `fisher_brecq` baseline): before the unit's loop, each sample's
 * gradient g of KL(T) with respect to the unit's output, with the earlier units quantized (hard)
 * and this one and the rest in float; then L = mean_{b,d} (g_{b,d} (ŷ − y)_{b,d})² with each
 * sample's own gradient, divided by its first value.
 */
export class BrecqLoss implements UnitLoss {
  private readonly loss: Tensor;
  private readonly first: Tensor;
  private grads: RowCache | null = null;

  constructor(
    private readonly ctx: GpuContext,
    private readonly inputs: {
      tail: FisherTail;
      /** The unit's float output for samples [from, from + n) of the quantized-prefix inputs. */
      floatOutput: (from: number, n: number) => Tensor;
      logitsFp: RowCache;
      count: number;
      batch: number;
      temperature: number;
      makeCache: (rowShape: readonly number[]) => RowCache;
    },
  ) {
    this.loss = ctx.empty([1], 'recon.brecq');
    this.first = ctx.empty([1], 'recon.brecq0');
  }

  async prepare(): Promise<void> {
    if (this.grads) return;
    const { ctx } = this;
    const s = this.inputs;
    for (let from = 0; from < s.count; from += s.batch) {
      const n = Math.min(s.batch, s.count - from);
      const z = s.floatOutput(from, n);
      const logits = s.tail.forward(z);
      const target = s.logitsFp.slice(from, n, 'brecq.logits_fp');
      const dLogits = klGrad(ctx, logits, target, n, 'brecq.dlogits', s.temperature);
      logits.release();
      target.release();
      // The tail's backward reads its input: z lives until then.
      const g = s.tail.backward(dLogits);
      dLogits.release();
      z.release();
      this.grads ??= s.makeCache(g.shape.slice(1));
      this.grads.put(g, from);
      g.release();
    }
    // The tail's forward and backward buffers are not needed by the steps.
    this.ctx.trimPool();
  }

  grad(y: Tensor, target: Tensor, it: number, indices: Tensor): Tensor {
    if (!this.grads) throw new Error('BrecqLoss: grad before prepare');
    const rows = y.shape[0];
    const w = this.ctx.empty(y.shape, 'recon.brecq.weight');
    this.grads.gather(indices, w);
    mseLoss(this.ctx, y, target, rows, this.loss, 0, w);
    if (it === 0) this.ctx.copy(this.loss, this.first);
    const g = mseGrad(this.ctx, y, target, rows, this.first, 0, 'recon.dy', w);
    w.release();
    return g;
  }

  async value(): Promise<number> {
    return (await this.ctx.read(this.loss))[0] / (await this.ctx.read(this.first))[0];
  }

  release(): void {
    this.loss.release();
    this.first.release();
    this.grads?.release();
    this.inputs.tail.release();
  }
}

export type FisherMethod = 'fimaq' | 'diag-fim' | 'lr-fim';

export interface FisherSettings {
  /** Snapshots per unit (the rank of the low-rank term). */
  k: number;
  p1: number;
  p2: number;
  temperature: number;
  /** 'q': a snapshot every floor(iters / k) steps; 'qf': at the first k steps. */
  disMode: 'q' | 'qf';
  /** Relative damping of Δ̄Δ̄ᵀ before inversion (the official code has none). */
  damping: number;
  /** eig-fim: compute the eigenpairs once per unit, at its first step, instead of on the snapshot schedule (absent: the schedule). */
  eigOnce?: boolean;
  /** eig-fim: the power of the spectrum of its matrix, diag d^p + U Λ^p Uᵀ (absent: 1, F's own). */
  eigPower?: number;
}

/** The official defaults: 5 snapshots spread over the unit, both terms weighted 1, T = 20. */
export const DEFAULT_FISHER: FisherSettings = { k: 5, p1: 1, p2: 1, temperature: 20, disMode: 'q', damping: 1e-4 };

/** The loss weights of each Fisher method (diag-FIM and LR-FIM normalise as 2 L / L⁰). */
export function fisherWeights(method: FisherMethod, f: FisherSettings): { p1: number; p2: number } {
  if (method === 'diag-fim') return { p1: 0, p2: 2 };
  if (method === 'lr-fim') return { p1: 2, p2: 0 };
  return { p1: f.p1, p2: f.p2 };
}

/** Whether a snapshot is due before step `it`. */
export function snapshotDue(f: FisherSettings, iters: number, it: number): boolean {
  if (f.disMode === 'qf') return it < f.k;
  return it % Math.max(1, Math.floor(iters / f.k)) === 0;
}

/** inv(M + damping·mean(diag M)·I) of a small symmetric matrix, by Gauss-Jordan in float64. */
export function dampedInverse(m: Float64Array, n: number, damping: number): Float64Array {
  let trace = 0;
  for (let i = 0; i < n; i++) trace += m[i * n + i];
  const eps = (damping * trace) / n;
  const a = Float64Array.from(m);
  for (let i = 0; i < n; i++) a[i * n + i] += eps;
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r * n + col]) > Math.abs(a[pivot * n + col])) pivot = r;
    if (a[pivot * n + col] === 0) throw new Error('dampedInverse: singular matrix');
    for (let c = 0; c < n; c++) {
      [a[col * n + c], a[pivot * n + c]] = [a[pivot * n + c], a[col * n + c]];
      [inv[col * n + c], inv[pivot * n + c]] = [inv[pivot * n + c], inv[col * n + c]];
    }
    const p = a[col * n + col];
    for (let c = 0; c < n; c++) {
      a[col * n + c] /= p;
      inv[col * n + c] /= p;
    }
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = a[r * n + col];
      if (f === 0) continue;
      for (let c = 0; c < n; c++) {
        a[r * n + c] -= f * a[col * n + c];
        inv[r * n + c] -= f * inv[col * n + c];
      }
    }
  }
  return inv;
}


export interface FisherLossInputs {
  unit: ReconUnit;
  tail: FisherTail;
  xFp: RowCache;
  yFp: RowCache;
  logitsFp: RowCache;
  iters: number;
  batch: number;
  /** QDrop noise of snapshot `snapshot`, batch `batchIndex`. */
  noise: (snapshot: number, batchIndex: number) => NoiseSource;
}

/** FIMA-Q's DPLR-FIM loss and its ablations, with snapshots refreshing G, ḡ and Binv. */
export class FisherLoss implements UnitLoss {
  private readonly losses: Tensor;
  private readonly norm: Tensor;
  private readonly gRows: Float32Array[] = [];
  private readonly deltaRows: Float32Array[] = [];
  private state: FisherState | null = null;
  private setNorm = false;
  private readonly weights: { p1: number; p2: number };

  constructor(private readonly ctx: GpuContext, method: FisherMethod, private readonly f: FisherSettings, private readonly inputs: FisherLossInputs) {
    this.weights = fisherWeights(method, f);
    this.losses = ctx.empty([2], 'recon.fisher.losses');
    this.norm = ctx.empty([2], 'recon.fisher.norm');
  }

  async prepare(it: number): Promise<void> {
    if (!snapshotDue(this.f, this.inputs.iters, it)) return;
    const { ctx } = this;
    const snapshot = this.gRows.length;
    const sums = fisherSnapshot(ctx, this.inputs.unit, this.inputs.tail, {
      xFp: this.inputs.xFp,
      yFp: this.inputs.yFp,
      logitsFp: this.inputs.logitsFp,
      batch: this.inputs.batch,
      temperature: this.f.temperature,
      noise: (k) => this.inputs.noise(snapshot, k),
    });
    const m = sums.images;
    this.gRows.push(Float32Array.from(await ctx.read(sums.gradSum), (v) => v / m));
    this.deltaRows.push(Float32Array.from(await ctx.read(sums.errorSum), (v) => v / m));
    sums.gradSum.release();
    sums.errorSum.release();
    this.upload();
    this.setNorm = true;
    // The snapshot's buffers (the tail's forward and backward) are not needed by the steps.
    ctx.trimPool();
  }

  /** G, ḡ and inv(Δ̄Δ̄ᵀ + damping) from the snapshots so far. */
  private upload(): void {
    const { ctx } = this;
    const r = this.gRows.length;
    const D = this.gRows[0].length;
    const g = new Float32Array(r * D);
    const gbar = new Float32Array(D);
    this.gRows.forEach((row, i) => {
      g.set(row, i * D);
      for (let d = 0; d < D; d++) gbar[d] += row[d] / r;
    });
    const gram = new Float64Array(r * r);
    for (let i = 0; i < r; i++)
      for (let j = 0; j < r; j++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += this.deltaRows[i][d] * this.deltaRows[j][d];
        gram[i * r + j] = s;
      }
    this.releaseState();
    this.state = {
      g: ctx.upload(g, [r, D], 'recon.fisher.G'),
      gbar: ctx.upload(gbar, [D], 'recon.fisher.gbar'),
      binv: ctx.upload(Float32Array.from(dampedInverse(gram, r, this.f.damping)), [r, r], 'recon.fisher.binv'),
      rank: r,
    };
  }

  grad(y: Tensor, target: Tensor): Tensor {
    if (!this.state) throw new Error('FisherLoss: no snapshot before the first step');
    const g = dplrLossAndGrad(this.ctx, y, target, this.state, this.weights, this.losses, this.norm, this.setNorm, 'recon.fisher');
    this.setNorm = false;
    return g;
  }

  /** G [rank, D], ḡ [D] and Binv [rank, rank] as the loss uses them, read back (tests, inspection). */
  async readState(): Promise<{ g: Float32Array; gbar: Float32Array; binv: Float32Array; rank: number } | null> {
    if (!this.state) return null;
    const { g, gbar, binv, rank } = this.state;
    return { g: await this.ctx.read(g), gbar: await this.ctx.read(gbar), binv: await this.ctx.read(binv), rank };
  }

  snapshotSummary(): SnapshotSummary {
    return { snapshots: this.gRows.length, gradMinCosine: minPairCosine(this.gRows), errorMinCosine: minPairCosine(this.deltaRows) };
  }

  async value(): Promise<number> {
    const [lowRank, diag] = await this.ctx.read(this.losses);
    const [n0, n1] = await this.ctx.read(this.norm);
    const { p1, p2 } = this.weights;
    return (p1 ? (p1 * lowRank) / n0 : 0) + (p2 ? (p2 * diag) / n1 : 0);
  }

  private releaseState(): void {
    if (!this.state) return;
    for (const t of [this.state.g, this.state.gbar, this.state.binv]) t.release();
    this.state = null;
  }

  release(): void {
    this.releaseState();
    this.losses.release();
    this.norm.release();
    this.inputs.tail.release();
  }
}
