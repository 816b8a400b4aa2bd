/** calib-candidate-errors: fq(v; candidate) - v for every (group, candidate, element), materialized. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { DEFAULT_FLOPS_PER_ELEMENT, gridFor, type KernelDescriptor } from '../runtime/kernel.js';
import type { RowLayout } from './calib-self-loss.js';

export const calibCandidateErrorsKernel: KernelDescriptor = {
  name: 'calib-candidate-errors',
  entryPoint: 'main',
  storage: [
    { name: 'v', access: 'read' },
    { name: 'cand_scale', access: 'read' },
    { name: 'cand_zero_point', access: 'read' },
    { name: 'out', access: 'read_write' },
  ],
  uniforms: [
    ...['groups', 'len', 'rs', 'cs', 'C', 'c0', 'stride'].map((name) => ({ name, type: 'u32' as const })),
    { name: 'qmax', type: 'f32' },
  ],
  overrides: { WG: 256 },
  // The groups' values read once (every candidate of a group reads the same ones), every error written once.
  cost: ({ uniforms: u, bufferBytes: b }) => ({
    flops: DEFAULT_FLOPS_PER_ELEMENT * u.groups * u.C * u.len,
    bytes: 4 * (u.groups * u.len + u.groups * u.C * u.len) + b[1] + b[2],
  }),
};

/** Elements of candidate errors the losses materialize at once (64 MiB of float32), within the binding limit. */
export const CANDIDATE_ERRORS_CHUNK = 16 * 1024 * 1024;

/**
 * Returns [groups, count, len]: candidates first..first+count of each group's table, which holds
 * `perGroup` candidates per group.
 */
export function calibCandidateErrors(
  ctx: GpuContext, v: Tensor, layout: RowLayout, candScale: Tensor, candZeroPoint: Tensor,
  perGroup: number, first: number, count: number, bits: number,
): Tensor {
  const out = ctx.empty([layout.rows, count, layout.len], 'calib-candidate-errors');
  ctx.dispatch(
    calibCandidateErrorsKernel,
    { groups: layout.rows, len: layout.len, rs: layout.rowStride, cs: layout.elementStride, C: count, c0: first, stride: perGroup, qmax: 2 ** bits - 1 },
    [v, candScale, candZeroPoint, out],
    gridFor(out.size, calibCandidateErrorsKernel.overrides.WG),
  );
  return out;
}
