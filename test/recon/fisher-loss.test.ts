/**
 * The FIMA-Q loss on the GPU (dplr-loss, dplr-grad and the projections) against the float64
 * reference, and the reference's gradient against central differences of its loss.
 */
import { describe, expect, it } from 'vitest';
import { dplrLossAndGrad } from '../../src/recon/fisher-loss.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { type DplrInputs, dplrGradRef, dplrLossRef } from '../reference/dplr-loss.js';

/** A random symmetric positive definite rank x rank matrix (M Mᵀ + rank I). */
function spd(rank: number): Float32Array {
  const m = randomData(rank * rank, 1);
  const out = new Float32Array(rank * rank);
  for (let i = 0; i < rank; i++)
    for (let j = 0; j < rank; j++) {
      let s = i === j ? rank : 0;
      for (let k = 0; k < rank; k++) s += m[i * rank + k] * m[j * rank + k];
      out[i * rank + j] = s;
    }
  return out;
}

function inputs(rows: number, cols: number, rank: number): DplrInputs & { g32: Float32Array; binv32: Float32Array; gbar32: Float32Array; yhat32: Float32Array; y32: Float32Array } {
  const g32 = Float32Array.from(randomData(rank * cols, 1), Math.abs);
  const gbar32 = new Float32Array(cols);
  for (let i = 0; i < rank; i++) for (let d = 0; d < cols; d++) gbar32[d] += g32[i * cols + d] / rank;
  const binv32 = spd(rank);
  const yhat32 = randomData(rows * cols, 2);
  const y32 = randomData(rows * cols, 2);
  return { yhat: yhat32, y: y32, g: g32, binv: binv32, gbar: gbar32, rows, cols, rank, g32, binv32, gbar32, yhat32, y32 };
}

describe('FIMA-Q (DPLR) loss and gradient', () => {
  // The last two split A = ΔGᵀ over D (project-rows), the very last over two blocks of ranks too.
  for (const [rows, cols, rank, p1, p2] of [[1, 1, 1, 1, 1], [4, 37, 3, 1, 1], [32, 500, 5, 1, 1], [8, 64, 2, 0, 2], [8, 64, 2, 2, 0], [8, 5003, 5, 1, 1], [4, 2500, 9, 1, 1]]) {
    it(`B=${rows} D=${cols} rank=${rank} p1=${p1} p2=${p2}`, async () => {
      const ctx = await testContext();
      const x = inputs(rows, cols, rank);
      const up = (a: Float32Array, shape: number[], label: string) => ctx.upload(a, shape, label);
      const f = { g: up(x.g32, [rank, cols], 'G'), gbar: up(x.gbar32, [cols], 'gbar'), binv: up(x.binv32, [rank, rank], 'binv'), rank };
      const [yhat, y] = [up(x.yhat32, [rows, cols], 'yhat'), up(x.y32, [rows, cols], 'y')];
      const losses = ctx.empty([2], 'losses');
      const norm = ctx.empty([2], 'norm');
      // First step after a snapshot: the terms become their own normalisers.
      const grad = dplrLossAndGrad(ctx, yhat, y, f, { p1, p2 }, losses, norm, true, 'dplr');
      const ref = dplrLossRef(x);
      expectClose(await ctx.read(losses), [ref.lowRank, ref.diag], 1e-6, 1e-5, 'loss terms');
      expectClose(await ctx.read(norm), [ref.lowRank, ref.diag], 1e-6, 1e-5, 'normalisers');
      const gRef = dplrGradRef(x, [ref.lowRank, ref.diag], p1, p2);
      const scale = gRef.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(scale).toBeGreaterThan(0);
      expectClose(await ctx.read(grad), gRef, 1e-5 * scale, 1e-4, 'gradient');
      for (const t of [f.g, f.gbar, f.binv, yhat, y, losses, norm, grad]) t.release();
    });
  }

  it('the reference gradient is the derivative of the reference loss', () => {
    const x = inputs(3, 11, 3);
    const norm: [number, number] = [0.7, 1.9];
    const [p1, p2] = [1, 1.5];
    const loss = (yhat: Float64Array) => {
      const r = dplrLossRef({ ...x, yhat });
      return (p1 * r.lowRank) / norm[0] + (p2 * r.diag) / norm[1];
    };
    const g = dplrGradRef(x, norm, p1, p2);
    const h = 1e-6;
    const fd = Float64Array.from(x.yhat, (_, i) => {
      const at = (s: number) => loss(Float64Array.from(x.yhat, (v, j) => (j === i ? v + s * h : v)));
      return (at(1) - at(-1)) / (2 * h);
    });
    expectClose(g, fd, 1e-7, 1e-6, 'reference gradient');
  });
});
