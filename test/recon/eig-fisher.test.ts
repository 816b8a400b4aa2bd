/**
 * eig-fim ([E10]): the randomized subspace iteration against a float64 eigendecomposition of a
 * small explicit empirical Fisher matrix (gradients cached in several chunks, D long enough for
 * project-rows to split it), the residual diagonal, and the loss and its gradient on the GPU against
 * the float64 reference, whose gradient is checked against central differences of its loss.
 */
import { describe, expect, it } from 'vitest';
import { eigLossFit } from '../../src/pipeline/fim.js';
import { RowCache } from '../../src/quant/capture.js';
import { EIG_WEIGHT, eigFimLossAndGrad, leadingShare, orthonormalizeRows, residualDiagonal, topEigenpairs, uploadEigFisher } from '../../src/recon/eig-fisher.js';
import { empiricalFisher, symmetricEigen } from '../../src/recon/fim-picture.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { type EigFimInputs, eigFimGradRef, eigFimLossRef } from '../reference/eig-fim.js';

/**
 * n gradients of length D with a decaying spectrum: random directions scaled by 1/(1 + j/2) in a
 * random basis, plus a little isotropic noise, and mean-free over groups of 8 (as a LayerNorm's
 * input gradients are over channels).
 */
function gradients(n: number, D: number, seed: number): Float32Array {
  const basis = Array.from({ length: 12 }, (_, j) => Float64Array.from(randomData(D, 1, seed + j)));
  orthonormalizeRows(basis, seed);
  const coeff = randomData(n * 12, 1, seed + 100);
  const noise = randomData(n * D, 0.02, seed + 200);
  const g = new Float32Array(n * D);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < D; d++) {
      let v = noise[i * D + d];
      for (let j = 0; j < 12; j++) v += (coeff[i * 12 + j] / (1 + j / 2)) * basis[j][d];
      g[i * D + d] = v;
    }
    for (let start = 0; start + 8 <= D; start += 8) {
      let mean = 0;
      for (let d = start; d < start + 8; d++) mean += g[i * D + d] / 8;
      for (let d = start; d < start + 8; d++) g[i * D + d] -= mean;
    }
  }
  return g;
}

describe('eig-fim: top eigenpairs of the empirical Fisher matrix', () => {
  // [images, D, rank, images per chunk]: one chunk; three chunks, the last short; D split by project-rows.
  for (const [n, D, rank, perChunk] of [[24, 40, 3, 24], [50, 96, 5, 20], [40, 260, 4, 16]]) {
    it(`n=${n} D=${D} rank ${rank}, ${Math.ceil(n / perChunk)} chunks: eigenvalues and eigenvectors of the explicit F`, async () => {
      const ctx = await testContext();
      const g = gradients(n, D, n + D);
      const grads = RowCache.upload(ctx, g, n, [D], 'grads', { rowsPerChunk: perChunk });
      const eig = await topEigenpairs(ctx, grads, { rank, seed: 5 });
      grads.release();
      const rows = Array.from({ length: n }, (_, i) => Float64Array.from(g.subarray(i * D, (i + 1) * D)));
      const f = empiricalFisher(rows, D);
      const ref = symmetricEigen(f, D);
      const order = Array.from(ref.values.keys()).sort((a, b) => ref.values[b] - ref.values[a]);
      expect(eig.values.length).toBe(rank);
      for (let r = 0; r < rank; r++) {
        const e = order[r]!;
        expect(Math.abs(eig.values[r]! - ref.values[e]!) / ref.values[e]!, `eigenvalue ${r}`).toBeLessThan(1e-3);
        let dot = 0;
        for (let d = 0; d < D; d++) dot += eig.vectors[r]![d]! * ref.vectors[d * D + e]!;
        expect(Math.abs(dot), `eigenvector ${r}`).toBeGreaterThan(0.999);
      }
      // d = diag F − diag UΛUᵀ, non-negative, and the full matrix's diagonal is F's.
      const diagF = Float64Array.from({ length: D }, (_, j) => f[j * D + j]!);
      const d = residualDiagonal(diagF, eig);
      for (let j = 0; j < D; j++) {
        let low = 0;
        for (let r = 0; r < rank; r++) low += eig.values[r]! * eig.vectors[r]![j]! ** 2;
        expect(d[j]).toBeGreaterThanOrEqual(0);
        expect(d[j]! + low).toBeCloseTo(Math.max(diagF[j]!, low), 9);
      }
    });
  }

  it('fewer images than the subspace: the eigenvalues past the gradients\' rank are zero', async () => {
    const ctx = await testContext();
    const [n, D] = [3, 64];
    const g = gradients(n, D, 9);
    const grads = RowCache.upload(ctx, g, n, [D], 'grads');
    const eig = await topEigenpairs(ctx, grads, { rank: 5, seed: 2 });
    grads.release();
    expect(eig.values[2]).toBeGreaterThan(0);
    expect(Math.max(eig.values[3]!, eig.values[4]!)).toBeLessThan(1e-6 * eig.values[0]!);
  });
});

describe('eig-fim: how its matrix fits F (what fimaq fim reports)', () => {
  it('the whole-output error without forming F equals the explicit one, the slice error the slice\'s', () => {
    const [n, D, rank, channels] = [10, 14, 3, 5];
    const g = gradients(n, D, 77);
    const rows = Array.from({ length: n }, (_, i) => g.subarray(i * D, (i + 1) * D));
    const f = empiricalFisher(rows.map((r) => Float64Array.from(r)), D);
    const ref = symmetricEigen(f, D);
    const order = Array.from(ref.values.keys()).sort((a, b) => ref.values[b] - ref.values[a]).slice(0, rank);
    const eig = { values: Float64Array.from(order, (e) => ref.values[e]!), vectors: order.map((e) => Float64Array.from({ length: D }, (_, i) => ref.vectors[i * D + e]!)) };
    const d = residualDiagonal(Float64Array.from({ length: D }, (_, j) => f[j * D + j]!), eig);
    const m = (i: number, j: number) => (i === j ? d[i]! : 0) + eig.vectors.reduce((s, u, r) => s + eig.values[r]! * u[i]! * u[j]!, 0);
    const error = (size: number) => {
      let [diff, norm] = [0, 0];
      for (let i = 0; i < size; i++)
        for (let j = 0; j < size; j++) {
          diff += (f[i * D + j]! - m(i, j)) ** 2;
          norm += f[i * D + j]! ** 2;
        }
      return Math.sqrt(diff / norm);
    };
    const sliceF = Float64Array.from({ length: channels * channels }, (_, k) => f[Math.floor(k / channels) * D + (k % channels)]!);
    const fit = eigLossFit(rows, eig, sliceF, channels);
    expect(fit.fullError).toBeGreaterThan(0);
    expect(fit.fullError).toBeCloseTo(error(D), 6);
    expect(fit.sliceError).toBeCloseTo(error(channels), 6);
    let trace = 0;
    for (let j = 0; j < D; j++) trace += f[j * D + j]!;
    expect(fit.capturedShare).toBeCloseTo(eig.values.reduce((a, b) => a + b, 0) / trace, 9);
  });
});

describe('eig-fim loss and gradient', () => {
  function inputs(rows: number, cols: number, rank: number): EigFimInputs & { v32: Float32Array; d32: Float32Array; yhat32: Float32Array; y32: Float32Array } {
    const v32 = randomData(rank * cols, 0.5, 11);
    const d32 = Float32Array.from(randomData(cols, 1, 12), Math.abs);
    const yhat32 = randomData(rows * cols, 2, 13);
    const y32 = randomData(rows * cols, 2, 14);
    return { yhat: yhat32, y: y32, v: v32, d: d32, rows, cols, rank, v32, d32, yhat32, y32 };
  }

  // The last splits Δ.Vᵀ over D (project-rows).
  for (const [rows, cols, rank] of [[1, 1, 1], [4, 37, 3], [8, 64, 5], [8, 5003, 5]]) {
    it(`B=${rows} D=${cols} rank=${rank}`, async () => {
      const ctx = await testContext();
      const x = inputs(rows, cols, rank);
      const f = { v: ctx.upload(x.v32, [rank, cols], 'V'), diag: ctx.upload(x.d32, [cols], 'd'), rank };
      const [yhat, y] = [ctx.upload(x.yhat32, [rows, cols], 'yhat'), ctx.upload(x.y32, [rows, cols], 'y')];
      const losses = ctx.empty([2], 'losses');
      const norm = ctx.empty([2], 'norm');
      // First step after a refresh: the terms become their own normalisers.
      const grad = eigFimLossAndGrad(ctx, yhat, y, f, losses, norm, true, 'eig');
      const ref = eigFimLossRef(x);
      expectClose(await ctx.read(losses), [ref.lowRank, ref.diag], 1e-6, 1e-5, 'loss terms');
      expectClose(await ctx.read(norm), [ref.lowRank, ref.diag], 1e-6, 1e-5, 'normalisers');
      const gRef = eigFimGradRef(x, [ref.lowRank, ref.diag], EIG_WEIGHT);
      const scale = gRef.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(scale).toBeGreaterThan(0);
      expectClose(await ctx.read(grad), gRef, 1e-5 * scale, 1e-4, 'gradient');
      for (const t of [f.v, f.diag, yhat, y, losses, norm, grad]) t.release();
    });
  }

  it('the reference gradient is the derivative of the reference loss', () => {
    const x = inputs(3, 11, 3);
    const norm: [number, number] = [0.7, 1.9];
    const loss = (yhat: Float64Array) => {
      const r = eigFimLossRef({ ...x, yhat });
      return (EIG_WEIGHT * (r.lowRank + r.diag)) / (norm[0] + norm[1]);
    };
    const g = eigFimGradRef(x, norm, EIG_WEIGHT);
    const h = 1e-6;
    const fd = Float64Array.from(x.yhat, (_, i) => {
      const at = (s: number) => loss(Float64Array.from(x.yhat, (v, j) => (j === i ? v + s * h : v)));
      return (at(1) - at(-1)) / (2 * h);
    });
    expectClose(g, fd, 1e-7, 1e-6, 'reference gradient');
  });

  it.each([1, 0.5])('the uploaded matrix at power %s is diag d^p + UΛ^pUᵀ: its quadratic form equals the two terms', async (power) => {
    const ctx = await testContext();
    const [D, rank] = [30, 3];
    const vectors = Array.from({ length: rank }, (_, r) => Float64Array.from(randomData(D, 1, 40 + r)));
    orthonormalizeRows(vectors, 1);
    const eig = { values: Float64Array.of(3, 1.5, 0.25), vectors };
    const diag = Float64Array.from(randomData(D, 1, 50), Math.abs);
    const state = uploadEigFisher(ctx, eig, diag, power);
    const delta = randomData(D, 1, 51);
    const yhat = ctx.upload(delta, [1, D], 'yhat');
    const y = ctx.upload(new Float32Array(D), [1, D], 'y');
    const losses = ctx.empty([2], 'losses');
    const norm = ctx.empty([2], 'norm');
    eigFimLossAndGrad(ctx, yhat, y, state, losses, norm, true, 'eig').release();
    let quad = 0;
    for (let i = 0; i < D; i++)
      for (let j = 0; j < D; j++) {
        let m = i === j ? diag[i]! ** power : 0;
        for (let r = 0; r < rank; r++) m += eig.values[r]! ** power * vectors[r]![i]! * vectors[r]![j]!;
        quad += delta[i]! * m * delta[j]!;
      }
    const [lowRank, diagTerm] = await ctx.read(losses);
    expect(lowRank! + diagTerm!).toBeCloseTo(quad, 4);
    for (const t of [state.v, state.diag, yhat, y, losses, norm]) t.release();
  });

  it('leadingShare: the first entries\' share of UΛUᵀ\'s trace, from the explicit matrix', () => {
    const [D, rank, entries] = [12, 3, 4];
    const vectors = Array.from({ length: rank }, (_, r) => Float64Array.from(randomData(D, 1, 60 + r)));
    orthonormalizeRows(vectors, 1);
    const eig = { values: Float64Array.of(2, 0.7, 0.1), vectors };
    const diagOf = (j: number) => vectors.reduce((a, u, r) => a + eig.values[r]! * u[j]! * u[j]!, 0);
    let [lead, trace] = [0, 0];
    for (let j = 0; j < D; j++) [lead, trace] = [lead + (j < entries ? diagOf(j) : 0), trace + diagOf(j)];
    expect(leadingShare(eig, entries)).toBeCloseTo(lead / trace, 9);
    expect(leadingShare(eig, D)).toBeCloseTo(1, 9);
  });
});
