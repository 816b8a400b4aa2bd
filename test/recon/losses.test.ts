/** Host-side pieces of the Fisher losses: the damped inverse, the snapshot schedule and the method weights. */
import { describe, expect, it } from 'vitest';
import { type FisherSettings, dampedInverse, fisherWeights, minPairCosine, snapshotDue } from '../../src/recon/losses.js';
import { uniformTensor } from '../../src/util/prng.js';

const F: FisherSettings = { k: 5, p1: 1, p2: 1, temperature: 20, disMode: 'q', damping: 0 };

describe('Fisher loss helpers', () => {
  it('inverts a symmetric matrix, with damping relative to its mean diagonal', () => {
    const m = Float64Array.from([4, 1, 0.5, 1, 3, 0.2, 0.5, 0.2, 2]);
    const inv = dampedInverse(m, 3, 0);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        let s = 0;
        for (let k = 0; k < 3; k++) s += m[i * 3 + k] * inv[k * 3 + j];
        expect(s).toBeCloseTo(i === j ? 1 : 0, 12);
      }
    // Rank-deficient Gram matrices (collinear snapshots) become invertible with damping.
    const collinear = Float64Array.from([1, 2, 2, 4]);
    expect(() => dampedInverse(collinear, 2, 0)).toThrow(/singular/);
    const damped = dampedInverse(collinear, 2, 0.1);
    const eps = (0.1 * 5) / 2;
    expect(damped[0] * (1 + eps) + damped[1] * 2).toBeCloseTo(1, 12);
  });

  it('takes snapshots every floor(iters / k) steps (q) or at the first k steps (qf)', () => {
    const due = (f: FisherSettings, iters: number) => Array.from({ length: iters }, (_, it) => it).filter((it) => snapshotDue(f, iters, it));
    expect(due(F, 20000).slice(0, 6)).toEqual([0, 4000, 8000, 12000, 16000]);
    expect(due({ ...F, k: 15 }, 20000)).toHaveLength(16);
    expect(due({ ...F, disMode: 'qf' }, 100)).toEqual([0, 1, 2, 3, 4]);
  });

  it('weighs the terms per method', () => {
    expect(fisherWeights('fimaq', { ...F, p1: 2.5, p2: 1.5 })).toEqual({ p1: 2.5, p2: 1.5 });
    expect(fisherWeights('diag-fim', F)).toEqual({ p1: 0, p2: 2 });
    expect(fisherWeights('lr-fim', F)).toEqual({ p1: 2, p2: 0 });
  });

  it('finds the least alike pair of snapshot rows by cosine', () => {
    const rows = Array.from({ length: 4 }, (_, i) => uniformTensor(11, i, 30, 0.5, 0.5));
    let reference = Infinity;
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 4; j++) {
        if (i === j) continue;
        const [a, b] = [Array.from(rows[i]), Array.from(rows[j])];
        const dot = a.reduce((s, v, d) => s + v * b[d], 0);
        reference = Math.min(reference, dot / Math.hypot(...a) / Math.hypot(...b));
      }
    expect(minPairCosine(rows)).toBeCloseTo(reference, 12);
    expect(reference).toBeLessThan(0.95);
    expect(minPairCosine([rows[0], rows[0].map((v) => 3 * v)])).toBeCloseTo(1, 12);
    expect(minPairCosine(rows.slice(0, 1))).toBe(1);
  });
});
