/** fake-quant-backward: dx of fake-quant-train (straight-through round, inclusive clamp, QDrop). */
import type { GpuContext, Tensor } from '../runtime/context.js';
import type { KernelDescriptor } from '../runtime/kernel.js';
import { spannedView, viewCost, type QuantView } from './fake-quant.js';
import { trainViewUniformFields, trainViewUniforms } from './fake-quant-train.js';

export const fakeQuantBackwardKernel: KernelDescriptor = {
  name: 'fake-quant-backward',
  entryPoint: 'main',
  storage: [
    { name: 'x', access: 'read' },
    { name: 'scale', access: 'read' },
    { name: 'zero_point', access: 'read' },
    { name: 'noise', access: 'read' },
    { name: 'dy', access: 'read' },
    { name: 'dx', access: 'read_write' },
  ],
  uniforms: trainViewUniformFields,
  overrides: { WG: 256, SPAN: 1 },
  libraries: ['fake-quant-walk'],
  cost: viewCost(4),
};

/**
 * Records dx[at] = 0 where the element took the quantized path (noise[idx] < keepProb) and
 * t = round(x/s) + round(z) lies outside [0, 2^bits - 1]; dx[at] = dy[at] everywhere else in the view.
 * x, dy and dx use the view's addresses; dx outside the view is left as it is.
 */
export function fakeQuantBackwardInto(
  ctx: GpuContext,
  x: Tensor,
  scale: Tensor,
  zeroPoint: Tensor,
  noise: Tensor,
  keepProb: number,
  bits: number,
  view: QuantView,
  dy: Tensor,
  dx: Tensor,
): void {
  const walk = spannedView(view, fakeQuantBackwardKernel.overrides.WG);
  ctx.dispatch(fakeQuantBackwardKernel, trainViewUniforms(walk.view, bits, keepProb, noise, 'fake-quant-backward'), [x, scale, zeroPoint, noise, dy, dx], walk.grid, { SPAN: walk.span });
}
