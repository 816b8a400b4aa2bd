/** fake-quant-train: fake-quant through a 4-D view with QDrop (training forward of a learnable-scale quantizer). */
import type { GpuContext, Tensor } from '../runtime/context.js';
import type { KernelDescriptor, UniformValues } from '../runtime/kernel.js';
import { spannedView, viewCost, viewCount, viewUniformFields, viewUniforms, type QuantView } from './fake-quant.js';

/** Uniform fields shared by fake-quant-train, fake-quant-backward and fake-quant-scale-grad, in order. */
export const trainViewUniformFields = [...viewUniformFields(), { name: 'keep_prob', type: 'f32' as const }];

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
  overrides: { WG: 256, SPAN: 1 },
  libraries: ['fake-quant-walk'],
  cost: viewCost(3),
};

/** The view, qmax = 2^bits - 1 and keepProb as uniform values; checks that noise covers the view. */
export function trainViewUniforms(view: QuantView, bits: number, keepProb: number, noise: Tensor, op: string): UniformValues {
  if (noise.size < viewCount(view)) throw new Error(`${op}: noise has ${noise.size} values for a view of ${viewCount(view)} elements`);
  return { ...viewUniforms(view, bits), keep_prob: keepProb };
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
  const walk = spannedView(view, fakeQuantTrainKernel.overrides.WG);
  ctx.dispatch(fakeQuantTrainKernel, trainViewUniforms(walk.view, bits, keepProb, noise, 'fake-quant-train'), [x, scale, zeroPoint, noise, y], walk.grid, { SPAN: walk.span });
}
