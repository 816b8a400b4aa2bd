/** The Figure 1 maths: eigen decomposition, the empirical Fisher and its approximations. */
import { describe, expect, it } from 'vitest';
import { empiricalFisher, fimApproximations, renderHeatmaps, symmetricEigen } from '../../src/recon/fim-picture.js';
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
});
