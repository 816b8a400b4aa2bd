/**
 * project-rows: out = x.gᵀ for a few rows of g and long rows (FIMA-Q's A = Δ.Gᵀ, K = tokens x width),
 * split over K into many invocations, the parts then added in order by reduce-sum. A plain matmul
 * would give this product a handful of invocations, each looping over all of K.
 */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';
import { reduceSum } from './reduce-sum.js';

export const projectRowsKernel: KernelDescriptor = {
  name: 'project-rows',
  entryPoint: 'main',
  storage: [
    { name: 'x', access: 'read' },
    { name: 'g', access: 'read' },
    { name: 'partial', access: 'read_write' },
  ],
  uniforms: ['M', 'N', 'K', 'parts', 'n_blocks'].map((name) => ({ name, type: 'u32' as const })),
  overrides: { WG: 64 },
};

/** Elements of K per invocation, until the parts reach MAX_PROJECT_PARTS. */
export const PROJECT_PER_PART = 128;
export const MAX_PROJECT_PARTS = 512;

/**
 * Into how many parts K is split: one per PROJECT_PER_PART elements, at most MAX_PROJECT_PARTS. A
 * function of K alone, never of the adapter, so the summation order (and the bits) are the same
 * on every device.
 */
export function projectParts(K: number): number {
  return Math.min(MAX_PROJECT_PARTS, Math.max(1, Math.ceil(K / PROJECT_PER_PART)));
}

/** Returns out [M, N] with out[m, n] = Σ_k x[m, k] g[n, k], for x [M, K] and g [N, K] (both row-major). */
export function projectRows(ctx: GpuContext, x: Tensor, g: Tensor, N: number, label: string): Tensor {
  const K = g.size / N;
  const M = x.size / K;
  if (!Number.isInteger(N) || N < 1 || !Number.isInteger(K) || K < 1) throw new Error(`${label}: g has ${g.size} values, not ${N} rows`);
  if (!Number.isInteger(M) || M < 1) throw new Error(`${label}: x has ${x.size} values, not rows of ${K}`);
  const parts = projectParts(K);
  const nBlocks = Math.ceil(N / 8);
  const partial = ctx.empty(parts === 1 ? [M, N] : [M * N, parts], parts === 1 ? label : `${label}.parts`);
  ctx.dispatch(projectRowsKernel, { M, N, K, parts, n_blocks: nBlocks }, [x, g, partial], gridFor(parts * M * nBlocks, projectRowsKernel.overrides.WG));
  if (parts === 1) return partial;
  const out = reduceSum(ctx, partial, M * N, label, [M, N]);
  partial.release();
  return out;
}
