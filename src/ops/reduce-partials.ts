/**
 * reduce-partials: the second pass of the multi-workgroup losses. Their first pass runs
 * `partialCount(count)` invocations, each of which leaves one partial sum per lane (without
 * barriers, so the many workgroups stay cheap on CPU implementations such as SwiftShader); this
 * one workgroup adds them in a fixed order and scales them into the output.
 */
import type { GpuContext, Tensor } from '../runtime/context.js';
import type { KernelDescriptor } from '../runtime/kernel.js';

export const reducePartialsKernel: KernelDescriptor = {
  name: 'reduce-partials',
  entryPoint: 'main',
  storage: [
    { name: 'partials', access: 'read' },
    { name: 'out', access: 'read_write' },
  ],
  uniforms: [
    { name: 'count', type: 'u32' },
    { name: 'lanes', type: 'u32' },
    { name: 'out_index', type: 'u32' },
    { name: 'div0', type: 'f32' },
    { name: 'div1', type: 'f32' },
  ],
  // One workgroup; its tree needs a power of two.
  overrides: { WG: 256 },
  libraries: ['reduction'],
};

/** Elements per first-pass invocation, until the partials reach MAX_PARTIALS. */
export const ELEMENTS_PER_PARTIAL = 16;
/** 256 KiB of partials per lane: the second pass's one workgroup reads at most that. */
export const MAX_PARTIALS = 65536;

/**
 * How many partial sums (first-pass invocations) a pass over `count` items leaves: one per
 * `perPartial` items, at most MAX_PARTIALS. A function of the shape alone, never of the adapter,
 * so the summation order (and the result's bits) are the same on every device.
 */
export function partialCount(count: number, perPartial = ELEMENTS_PER_PARTIAL): number {
  return Math.min(MAX_PARTIALS, Math.max(1, Math.ceil(count / perPartial)));
}

/**
 * Records out[outIndex + l] = (Σ_w partials[l·count + w]) / divisors[l] for each lane l (one or two);
 * the other elements of out are left as they are.
 */
export function reducePartials(ctx: GpuContext, partials: Tensor, count: number, divisors: readonly number[], out: Tensor, outIndex: number, label: string): void {
  const lanes = divisors.length;
  if (lanes < 1 || lanes > 2) throw new Error(`${label}: ${lanes} lanes, reduce-partials takes one or two`);
  if (!Number.isInteger(count) || count < 1 || partials.size < lanes * count) throw new Error(`${label}: ${partials.size} partials are not ${lanes} x ${count}`);
  if (!Number.isInteger(outIndex) || outIndex < 0 || outIndex + lanes > out.size) throw new Error(`${label}: index ${outIndex} (+${lanes}) outside out[${out.size}]`);
  ctx.dispatch(
    reducePartialsKernel,
    { count, lanes, out_index: outIndex, div0: divisors[0], div1: divisors[1] ?? 1 },
    [partials, out],
    [1, 1, 1],
  );
}
