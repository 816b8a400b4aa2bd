/** fake-quant: quantize-dequantize through a 4-D index view with per-view scale and zero-point maps. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { type CostInput, DEFAULT_FLOPS_PER_ELEMENT, type DispatchCost, gridFor, type KernelDescriptor, type UniformField, type UniformValues } from '../runtime/kernel.js';

export const fakeQuantKernel: KernelDescriptor = {
  name: 'fake-quant',
  entryPoint: 'main',
  storage: [
    { name: 'x', access: 'read' },
    { name: 'scale', access: 'read' },
    { name: 'zero_point', access: 'read' },
    { name: 'y', access: 'read_write' },
  ],
  uniforms: viewUniformFields(),
  overrides: { WG: 256, SPAN: 1 },
  libraries: ['fake-quant-walk'],
  cost: viewCost(2),
};

type Four = [number, number, number, number];

/** The uniform fields of a view and qmax, in the order every fake-quant shader declares them. */
export function viewUniformFields(): UniformField[] {
  return [
    ...['n0', 'n1', 'n2', 'n3', 'offset', 'a0', 'a1', 'a2', 'a3', 's0', 's1', 's2', 's3', 'z0', 'z1', 'z2', 'z3'].map((name) => ({ name, type: 'u32' as const })),
    { name: 'qmax', type: 'f32' },
  ];
}

/**
 * How a quantizer sees a tensor: element (i0..i3) lives at offset + Σ i_k·address_k, uses
 * scale[Σ i_k·scale_k] and zero_point[Σ i_k·zeroPoint_k].
 */
export interface QuantView {
  sizes: Four;
  offset: number;
  address: Four;
  scale: Four;
  zeroPoint: Four;
}

export const viewCount = (v: QuantView): number => v.sizes[0] * v.sizes[1] * v.sizes[2] * v.sizes[3];

/**
 * The cost of an element-wise kernel over the view in its uniforms: `streams` f32 values per
 * element read or written (x, noise, dy, y, ...), plus the scale and zero-point (bindings 2, 3).
 */
export function viewCost(streams: number): (c: CostInput) => DispatchCost {
  return ({ uniforms: u, bufferBytes }) => {
    const n = u.n0 * u.n1 * u.n2 * u.n3;
    return { flops: DEFAULT_FLOPS_PER_ELEMENT * n, bytes: 4 * streams * n + bufferBytes[1] + bufferBytes[2] };
  };
}

/** The values of viewUniformFields for a view and bit width. */
export function viewUniforms(view: QuantView, bits: number): UniformValues {
  const [n0, n1, n2, n3] = view.sizes;
  const [a0, a1, a2, a3] = view.address;
  const [s0, s1, s2, s3] = view.scale;
  const [z0, z1, z2, z3] = view.zeroPoint;
  return { n0, n1, n2, n3, offset: view.offset, a0, a1, a2, a3, s0, s1, s2, s3, z0, z1, z2, z3, qmax: 2 ** bits - 1 };
}

/**
 * The same view with its size-1 dims moved to the front, so that i3 runs along a real dimension
 * (perToken's [B, T, C, 1] becomes [1, B, T, C]). The flat element order is unchanged.
 */
export function innermostNonTrivial(view: QuantView): QuantView {
  const keep = [0, 1, 2, 3].filter((k) => view.sizes[k] !== 1);
  const dims = [...Array<number>(4 - keep.length).fill(-1), ...keep];
  const pick = (values: Four, unit: number): Four => dims.map((k) => (k < 0 ? unit : values[k])) as Four;
  return { sizes: pick(view.sizes, 1), offset: view.offset, address: pick(view.address, 0), scale: pick(view.scale, 0), zeroPoint: pick(view.zeroPoint, 0) };
}

/**
 * How the element-wise fake-quant kernels walk a view: the view as they index it
 * (`innermostNonTrivial`), the elements one invocation takes along i3 (the largest of 4, 2, 1
 * dividing n3), and the grid for workgroups of `workgroupSize`.
 */
export function spannedView(view: QuantView, workgroupSize: number): { view: QuantView; span: number; grid: [number, number, number] } {
  const v = innermostNonTrivial(view);
  const span = v.sizes[3] % 4 === 0 ? 4 : v.sizes[3] % 2 === 0 ? 2 : 1;
  return { view: v, span, grid: gridFor(viewCount(v) / span, workgroupSize) };
}

/** Records y[view] = fakequant(x[view]); elements of y outside the view are left as they are. */
export function fakeQuantInto(ctx: GpuContext, x: Tensor, scale: Tensor, zeroPoint: Tensor, bits: number, view: QuantView, y: Tensor): void {
  const walk = spannedView(view, fakeQuantKernel.overrides.WG);
  ctx.dispatch(fakeQuantKernel, viewUniforms(walk.view, bits), [x, scale, zeroPoint, y], walk.grid, { SPAN: walk.span });
}
