/** fake-quant-train: fake-quant through a 4-D view with QDrop (training forward of a learnable-scale quantizer). */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor, type UniformValues } from '../runtime/kernel.js';
import { viewCount, type QuantView } from './fake-quant.js';

const VIEW_UNIFORMS = ['n0', 'n1', 'n2', 'n3', 'offset', 'a0', 'a1', 'a2', 'a3', 's0', 's1', 's2', 's3', 'z0', 'z1', 'z2', 'z3'];

/** Uniform fields shared by fake-quant-train, fake-quant-backward and fake-quant-scale-grad, in order. */
export const trainViewUniformFields = [
  ...VIEW_UNIFORMS.map((name) => ({ name, type: 'u32' as const })),
  { name: 'qmax', type: 'f32' as const },
  { name: 'keep_prob', type: 'f32' as const },
];

export const fakeQuantTrainKernel: KernelDescriptor = {
  name: 'fake-quant-train',
  entryPoint: 'main',
  storage: [
    { name: 'x', access: 'read' },
    { name: 'scale', access: 'read' },
    { name: 'zero_point', access: 'read' },
    { name: 'noise', access: 'read' },
    { name: 'y', access: 'read_write' },
  ],
  uniforms: trainViewUniformFields,
  overrides: { WG: 256 },
};

/** The view, qmax = 2^bits - 1 and keepProb as uniform values; checks that noise covers the view. */
export function trainViewUniforms(view: QuantView, bits: number, keepProb: number, noise: Tensor, op: string): UniformValues {
  if (noise.size < viewCount(view)) throw new Error(`${op}: noise has ${noise.size} values for a view of ${viewCount(view)} elements`);
  const [n0, n1, n2, n3] = view.sizes;
  const [a0, a1, a2, a3] = view.address;
  const [s0, s1, s2, s3] = view.scale;
  const [z0, z1, z2, z3] = view.zeroPoint;
  return { n0, n1, n2, n3, offset: view.offset, a0, a1, a2, a3, s0, s1, s2, s3, z0, z1, z2, z3, qmax: 2 ** bits - 1, keep_prob: keepProb };
}

/**
 * Records y[view] = noise[idx] < keepProb ? fakequant(x[view]) : x[view], where idx is the flat view index
 * ((i0·n1 + i1)·n2 + i2)·n3 + i3 (noise needs viewCount(view) values); y outside the view is left as it is.
 * keepProb = 1 gives fakeQuantInto's output bit for bit wherever noise < 1.
 */
export function fakeQuantTrainInto(
  ctx: GpuContext,
  x: Tensor,
  scale: Tensor,
  zeroPoint: Tensor,
  noise: Tensor,
  keepProb: number,
  bits: number,
  view: QuantView,
  y: Tensor,
): void {
  ctx.dispatch(
    fakeQuantTrainKernel,
    trainViewUniforms(view, bits, keepProb, noise, 'fake-quant-train'),
    [x, scale, zeroPoint, noise, y],
    gridFor(viewCount(view), fakeQuantTrainKernel.overrides.WG),
  );
}
