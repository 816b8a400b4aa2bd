/** fake-quant: quantize-dequantize through a 4-D index view with per-view scale and zero-point maps. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor, type UniformField, type UniformValues } from '../runtime/kernel.js';

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
  overrides: { WG: 256 },
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

/** The values of viewUniformFields for a view and bit width. */
export function viewUniforms(view: QuantView, bits: number): UniformValues {
  const [n0, n1, n2, n3] = view.sizes;
  const [a0, a1, a2, a3] = view.address;
  const [s0, s1, s2, s3] = view.scale;
  const [z0, z1, z2, z3] = view.zeroPoint;
  return { n0, n1, n2, n3, offset: view.offset, a0, a1, a2, a3, s0, s1, s2, s3, z0, z1, z2, z3, qmax: 2 ** bits - 1 };
}

/** Records y[view] = fakequant(x[view]); elements of y outside the view are left as they are. */
export function fakeQuantInto(ctx: GpuContext, x: Tensor, scale: Tensor, zeroPoint: Tensor, bits: number, view: QuantView, y: Tensor): void {
  ctx.dispatch(
    fakeQuantKernel,
    viewUniforms(view, bits),
    [x, scale, zeroPoint, y],
    gridFor(viewCount(view), fakeQuantKernel.overrides.WG),
  );
}
