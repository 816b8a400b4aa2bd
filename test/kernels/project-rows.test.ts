import { describe, expect, it } from 'vitest';
import { MAX_PROJECT_PARTS, PROJECT_PER_PART, projectParts, projectRows } from '../../src/ops/project-rows.js';
import type { GpuContext } from '../../src/runtime/context.js';
import { randomData, testContext } from '../helpers/gpu.js';
import { projectRowsMagnitude, projectRowsRef } from '../reference/project-rows.js';

async function project(ctx: GpuContext, x: Float32Array, g: Float32Array, M: number, N: number, K: number): Promise<Float32Array> {
  const [xt, gt] = [ctx.upload(x, [M, K], 'x'), ctx.upload(g, [N, K], 'g')];
  const out = projectRows(ctx, xt, gt, N, 'A');
  expect(out.shape).toEqual([M, N]);
  const got = await ctx.read(out);
  for (const t of [xt, gt, out]) t.release();
  return got;
}

describe('project-rows', () => {
  // [M, N, K]: K in one part; N past one block of 8; a prime K in 157 parts; MAX_PROJECT_PARTS parts.
  for (const [M, N, K] of [[1, 1, 1], [3, 5, 7], [5, 13, 4099], [32, 5, 20011], [2, 3, 65543]]) {
    it(`x [${M}, ${K}] . g [${N}, ${K}]^T`, async () => {
      const ctx = await testContext();
      const x = randomData(M * K, 2);
      const g = randomData(N * K, 1);
      const got = await project(ctx, x, g, M, N, K);
      const ref = projectRowsRef(x, g, M, N, K);
      const mag = projectRowsMagnitude(x, g, M, N, K);
      for (let i = 0; i < ref.length; i++) {
        expect(Math.abs(got[i] - ref[i]), `out[${i}]: got ${got[i]}, expected ${ref[i]}`).toBeLessThanOrEqual(1e-6 * mag[i]);
      }
      // A fixed split and summation order give the same bits every time.
      expect(Array.from(await project(ctx, x, g, M, N, K))).toEqual(Array.from(got));
    });
  }

  it('splits K from its size alone: many workgroups for a DeiT-S output, at most MAX_PROJECT_PARTS parts', () => {
    expect(projectParts(1)).toBe(1);
    expect(projectParts(PROJECT_PER_PART)).toBe(1);
    expect(projectParts(PROJECT_PER_PART + 1)).toBe(2);
    expect(projectParts(2 ** 30)).toBe(MAX_PROJECT_PARTS);
    // FIMA-Q's A for deit_small: 32 images x 197 tokens x width 384, rank 5; 64 invocations per workgroup.
    expect((32 * projectParts(197 * 384)) / 64).toBeGreaterThanOrEqual(256);
  });
});
