/**
 * The paper's Figure 1 on a small slice of a block's output: the empirical Fisher information
 * matrix F = mean_i g_i g_iᵀ from per-sample gradients, and three approximations of it: its
 * diagonal, its best rank-k part (top eigenpairs), and diagonal plus low rank (DPLR: the rank-k
 * part plus the diagonal of the remainder); the matrices FIMA-Q's loss terms amount to, fitted to
 * it; and the heat maps, as RGBA pixels.
 */

export function empiricalFisher(grads: Float64Array[], n: number): Float64Array {
  const f = new Float64Array(n * n);
  for (const g of grads) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) f[i * n + j] += g[i] * g[j];
  return f.map((v) => v / grads.length);
}

/** Eigenvalues and eigenvectors (columns) of a symmetric matrix by cyclic Jacobi rotations. */
export function symmetricEigen(m: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(m);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  return { values: Float64Array.from({ length: n }, (_, i) => a[i * n + i]), vectors: v };
}

export interface FimApproximations {
  diag: Float64Array;
  lowRank: Float64Array;
  dplr: Float64Array;
  /** ‖F − approximation‖_F / ‖F‖_F */
  errors: { diag: number; lowRank: number; dplr: number };
  /** F's top `rank` eigenvectors, largest eigenvalue first. */
  topVectors: Float64Array[];
}

export function fimApproximations(f: Float64Array, n: number, rank: number): FimApproximations {
  const diag = new Float64Array(n * n);
  for (let i = 0; i < n; i++) diag[i * n + i] = f[i * n + i];
  const { values, vectors } = symmetricEigen(f, n);
  const order = Array.from(values.keys()).sort((x, y) => values[y] - values[x]).slice(0, rank);
  const lowRank = new Float64Array(n * n);
  for (const e of order)
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) lowRank[i * n + j] += values[e] * vectors[i * n + e] * vectors[j * n + e];
  const dplr = Float64Array.from(lowRank);
  for (let i = 0; i < n; i++) dplr[i * n + i] += f[i * n + i] - lowRank[i * n + i];
  const norm = (m: Float64Array) => Math.sqrt(m.reduce((s, x) => s + x * x, 0));
  const err = (m: Float64Array) => norm(m.map((x, i) => f[i] - x)) / norm(f);
  const topVectors = order.map((e) => Float64Array.from({ length: n }, (_, i) => vectors[i * n + e]));
  return { diag, lowRank, dplr, errors: { diag: err(diag), lowRank: err(lowRank), dplr: err(dplr) }, topVectors };
}

export interface LossTermFits {
  /** ḡ = mean_i |g_i|: what one Fisher snapshot keeps of the gradients. */
  meanAbsGrad: Float64Array;
  /** The fitted matrices: s·diag(ḡ), s·ḡḡᵀ and a·ḡḡᵀ + b·diag(ḡ). */
  diag: Float64Array;
  lowRank: Float64Array;
  dplr: Float64Array;
  /** ‖F − fit‖_F / ‖F‖_F */
  errors: { diag: number; lowRank: number; dplr: number };
  /** |cos| between ḡ and each of `topVectors`: how much of F's main directions ḡḡᵀ can see. */
  topVectorCosines: number[];
}

/**
 * The matrices FIMA-Q's loss weights the output error with, as the official code builds them
 * (method §6.2) from one snapshot: the diagonal term diag(ḡ) and the low-rank term ḡḡᵀ, with
 * ḡ = mean_i |g_i|, each at the non-negative scale that fits F best, and their best non-negative
 * sum. Both are built from absolute values, so neither can hold F's negative entries; the
 * eigen approximations of `fimApproximations` are what a signed rank-k term could reach.
 */
export function lossTermFits(grads: Float64Array[], f: Float64Array, n: number, topVectors: Float64Array[]): LossTermFits {
  const meanAbsGrad = new Float64Array(n);
  for (const g of grads) for (let i = 0; i < n; i++) meanAbsGrad[i] += Math.abs(g[i]) / grads.length;
  const diagBasis = new Float64Array(n * n);
  const rankOneBasis = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    diagBasis[i * n + i] = meanAbsGrad[i];
    for (let j = 0; j < n; j++) rankOneBasis[i * n + j] = meanAbsGrad[i] * meanAbsGrad[j];
  }
  const dot = (x: Float64Array, y: Float64Array) => x.reduce((s, v, i) => s + v * y[i], 0);
  const combine = (a: number, b: number) => rankOneBasis.map((v, i) => a * v + b * diagBasis[i]);
  const err = (m: Float64Array) => Math.sqrt(m.reduce((s, x, i) => s + (f[i] - x) ** 2, 0) / dot(f, f));
  const scale = (basis: Float64Array) => Math.max(0, dot(f, basis) / dot(basis, basis));
  const diag = combine(0, scale(diagBasis));
  const lowRank = combine(scale(rankOneBasis), 0);
  const [diagError, lowRankError] = [err(diag), err(lowRank)];
  // Two-term least squares; where it wants a negative weight the best non-negative fit is one term alone.
  const [aa, ab, bb] = [dot(rankOneBasis, rankOneBasis), dot(rankOneBasis, diagBasis), dot(diagBasis, diagBasis)];
  const [fa, fb] = [dot(f, rankOneBasis), dot(f, diagBasis)];
  const det = aa * bb - ab * ab;
  const a = (fa * bb - fb * ab) / det;
  const b = (fb * aa - fa * ab) / det;
  const dplr = det > 0 && a >= 0 && b >= 0 ? combine(a, b) : diagError < lowRankError ? diag : lowRank;
  const gNorm = Math.sqrt(dot(meanAbsGrad, meanAbsGrad));
  const topVectorCosines = topVectors.map((v) => Math.abs(dot(meanAbsGrad, v)) / (gNorm * Math.sqrt(dot(v, v))));
  return { meanAbsGrad, diag, lowRank, dplr, errors: { diag: diagError, lowRank: lowRankError, dplr: err(dplr) }, topVectorCosines };
}

/**
 * Over whole per-sample gradients of a block's output ([tokens, channels] rows, class token
 * first): the largest |mean over channels| / rms of a class-token gradient (a LayerNorm on every
 * path to the logits makes it 0), and the class token's share of Σ|g| over all tokens.
 */
export class ClassTokenGradientStats {
  private maxMeanRatio = 0;
  private classAbs = 0;
  private allAbs = 0;
  private classSq = 0;
  private allSq = 0;
  constructor(private readonly tokens: number, private readonly channels: number) {}

  /** Adds a batch of `batch` gradients laid out row after row. */
  add(g: Float32Array, batch: number): void {
    const row = this.tokens * this.channels;
    for (let b = 0; b < batch; b++) {
      // One pass over the sample: the class token is its first `channels` values.
      let [sum, sumSq, classAbs, allAbs, allSq] = [0, 0, 0, 0, 0];
      for (let i = 0; i < row; i++) {
        const v = g[b * row + i];
        allAbs += Math.abs(v);
        allSq += v * v;
        if (i < this.channels) [sum, sumSq, classAbs] = [sum + v, sumSq + v * v, classAbs + Math.abs(v)];
      }
      const rms = Math.sqrt(sumSq / this.channels);
      if (rms > 0) this.maxMeanRatio = Math.max(this.maxMeanRatio, Math.abs(sum / this.channels) / rms);
      this.classAbs += classAbs;
      this.allAbs += allAbs;
      this.classSq += sumSq;
      this.allSq += allSq;
    }
  }

  get channelMeanRatio(): number {
    return this.maxMeanRatio;
  }

  /** The class token's share of Σ|g| (where FIMA-Q's mean-|g| weights put the loss). */
  get classTokenShare(): number {
    return this.classAbs / this.allAbs;
  }

  /** The class token's share of Σg², i.e. of F's trace (where g² weights put it). */
  get classTokenSquareShare(): number {
    return this.classSq / this.allSq;
  }
}

/**
 * Heat maps side by side, `cell` pixels per entry, `gap` pixels of white between them: a diverging
 * colour scale (blue negative, white zero, red positive) shared by all panels, set by the first.
 */
export function renderHeatmaps(mats: Float64Array[], n: number, cell = 4, gap = 8): { width: number; height: number; rgba: Uint8Array } {
  const scale = mats[0].reduce((m, x) => Math.max(m, Math.abs(x)), 0) || 1;
  const side = n * cell;
  const width = mats.length * side + (mats.length + 1) * gap;
  const height = side + 2 * gap;
  const rgba = new Uint8Array(width * height * 4).fill(255);
  mats.forEach((m, k) => {
    const x0 = gap + k * (side + gap);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        // Square-root scaling keeps small off-diagonal structure visible next to the diagonal.
        const v = Math.sign(m[i * n + j]) * Math.sqrt(Math.min(1, Math.abs(m[i * n + j]) / scale));
        const fade = Math.round(255 * (1 - Math.abs(v)));
        const [r, g, b] = v >= 0 ? [255, fade, fade] : [fade, fade, 255];
        for (let y = 0; y < cell; y++)
          for (let x = 0; x < cell; x++) {
            const at = ((gap + i * cell + y) * width + x0 + j * cell + x) * 4;
            rgba[at] = r;
            rgba[at + 1] = g;
            rgba[at + 2] = b;
          }
      }
  });
  return { width, height, rgba };
}
