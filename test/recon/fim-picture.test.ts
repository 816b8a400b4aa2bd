/** The Figure 1 maths: eigen decomposition, the empirical Fisher and its approximations. */
import { describe, expect, it } from 'vitest';
import { ClassTokenGradientStats, empiricalFisher, fimApproximations, lossTermFits, renderHeatmaps, symmetricEigen } from '../../src/recon/fim-picture.js';
import { uniformTensor } from '../../src/util/prng.js';

const n = 12;
const grads = Array.from({ length: 40 }, (_, i) => Float64Array.from(uniformTensor(5, i, n, 0, 1)));

describe('FIM picture', () => {
  it('decomposes a symmetric matrix: V diag(λ) Vᵀ gives it back', () => {
    const f = empiricalFisher(grads, n);
    const { values, vectors } = symmetricEigen(f, n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let e = 0; e < n; e++) s += vectors[i * n + e] * values[e] * vectors[j * n + e];
        expect(s).toBeCloseTo(f[i * n + j], 10);
      }
  });

  it('computes F = mean g gᵀ and approximations whose errors behave', () => {
    const f = empiricalFisher(grads, n);
    expect(f[1 * n + 2]).toBeCloseTo(grads.reduce((s, g) => s + g[1] * g[2], 0) / grads.length, 12);
    const full = fimApproximations(f, n, n);
    expect(full.errors.lowRank).toBeLessThan(1e-9);
    const a = fimApproximations(f, n, 3);
    // The top eigenvectors: unit length, F v = λ v with λ decreasing.
    const lambdas = a.topVectors.map((v) => {
      const fv = Array.from({ length: n }, (_, i) => v.reduce((s, x, j) => s + f[i * n + j] * x, 0));
      const lambda = fv.reduce((s, x, i) => s + x * v[i], 0);
      fv.forEach((x, i) => expect(x).toBeCloseTo(lambda * v[i], 9));
      expect(v.reduce((s, x) => s + x * x, 0)).toBeCloseTo(1, 10);
      return lambda;
    });
    expect(lambdas[0]).toBeGreaterThanOrEqual(lambdas[1]);
    expect(lambdas[1]).toBeGreaterThanOrEqual(lambdas[2]);
    // DPLR fixes the low-rank part's diagonal, so it is never worse than the low-rank part alone.
    expect(a.errors.dplr).toBeLessThanOrEqual(a.errors.lowRank);
    for (const e of Object.values(a.errors)) {
      expect(e).toBeGreaterThan(0);
      expect(e).toBeLessThan(1);
    }
    const picture = renderHeatmaps([f, a.diag, a.lowRank, a.dplr], n, 2, 3);
    expect(picture.width).toBe(4 * n * 2 + 5 * 3);
    expect(picture.rgba.length).toBe(picture.width * picture.height * 4);
  });

  it("fits the loss's diag(ḡ) and ḡḡᵀ terms (ḡ = mean |g|) to F at their best non-negative scales", () => {
    const signed = grads; // entries in [-1, 1]
    const f = empiricalFisher(signed, n);
    const fits = lossTermFits(signed, f, n, fimApproximations(f, n, 2).topVectors);
    const meanAbs = Float64Array.from({ length: n }, (_, i) => signed.reduce((s, g) => s + Math.abs(g[i]), 0) / signed.length);
    for (let i = 0; i < n; i++) expect(fits.meanAbsGrad[i]).toBeCloseTo(meanAbs[i], 12);
    // Reference: a fine grid over the scales; the closed-form fits may not be worse than any grid point.
    const fNorm = Math.sqrt(f.reduce((s, v) => s + v * v, 0));
    const error = (a: number, b: number) => {
      let s = 0;
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) s += (f[i * n + j] - a * meanAbs[i] * meanAbs[j] - (i === j ? b * meanAbs[i] : 0)) ** 2;
      return Math.sqrt(s) / fNorm;
    };
    const grid = Array.from({ length: 201 }, (_, i) => (i / 200) * 4);
    for (const s of grid) {
      expect(fits.errors.lowRank).toBeLessThanOrEqual(error(s, 0) + 1e-12);
      expect(fits.errors.diag).toBeLessThanOrEqual(error(0, s / 10) + 1e-12);
      for (const t of grid.filter((_, i) => i % 10 === 0)) expect(fits.errors.dplr).toBeLessThanOrEqual(error(s, t / 10) + 1e-12);
    }
    expect(fits.errors.dplr).toBeLessThanOrEqual(Math.min(fits.errors.diag, fits.errors.lowRank) + 1e-12);
    expect(fits.errors.lowRank).toBeCloseTo(error(fits.lowRank[0] / meanAbs[0] ** 2, 0), 12);
    const top = fimApproximations(f, n, 2).topVectors;
    const norm = (v: Float64Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    top.forEach((v, e) => expect(fits.topVectorCosines[e]).toBeCloseTo(Math.abs(v.reduce((s, x, i) => s + x * meanAbs[i], 0)) / (norm(v) * norm(meanAbs)), 12));
  });

  it('gives an exact low-rank term when every gradient is the same non-negative vector', () => {
    const v = Float64Array.from(uniformTensor(9, 0, n, 0.6, 0.4));
    const same = Array.from({ length: 5 }, () => v);
    const f = empiricalFisher(same, n);
    const fits = lossTermFits(same, f, n, fimApproximations(f, n, 1).topVectors);
    expect(fits.errors.lowRank).toBeLessThan(1e-12);
    // F = vvᵀ: its one main direction is v = ḡ itself.
    expect(fits.topVectorCosines[0]).toBeCloseTo(1, 10);
    expect(fits.errors.dplr).toBeLessThan(1e-12);
    expect(fits.errors.diag).toBeGreaterThan(0.1);
  });

  it('class-token statistics: its shares of Σ|g| and Σg², and the largest |mean| / rms, against direct sums', () => {
    const [tokens, channels, batch] = [4, 3, 5];
    const g = uniformTensor(7, 1, batch * tokens * channels, -1, 1);
    const stats = new ClassTokenGradientStats(tokens, channels);
    stats.add(g.subarray(0, 2 * tokens * channels), 2);
    stats.add(g.subarray(2 * tokens * channels), 3);
    let [classAbs, allAbs, classSq, allSq, ratio] = [0, 0, 0, 0, 0];
    for (let b = 0; b < batch; b++) {
      const row = Array.from(g.subarray(b * tokens * channels, (b + 1) * tokens * channels));
      const cls = row.slice(0, channels);
      classAbs += cls.reduce((a, v) => a + Math.abs(v), 0);
      classSq += cls.reduce((a, v) => a + v * v, 0);
      allAbs += row.reduce((a, v) => a + Math.abs(v), 0);
      allSq += row.reduce((a, v) => a + v * v, 0);
      const mean = cls.reduce((a, v) => a + v, 0) / channels;
      ratio = Math.max(ratio, Math.abs(mean) / Math.sqrt(cls.reduce((a, v) => a + v * v, 0) / channels));
    }
    expect(stats.classTokenShare).toBeCloseTo(classAbs / allAbs, 6);
    expect(stats.classTokenSquareShare).toBeCloseTo(classSq / allSq, 6);
    expect(stats.channelMeanRatio).toBeCloseTo(ratio, 6);
  });
});
