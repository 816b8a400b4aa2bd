/** fake-quant-scale-grad: the learnable scale's gradient of fake-quant-train, summed per scale entry (deterministic). */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';
import { reduceSum } from './reduce-sum.js';
import { type QuantView, viewCost, viewCount } from './fake-quant.js';
import { trainViewUniformFields, trainViewUniforms } from './fake-quant-train.js';

export const fakeQuantScaleGradKernel: KernelDescriptor = {
  name: 'fake-quant-scale-grad',
  entryPoint: 'main',
  storage: [
    { name: 'x', access: 'read' },
    { name: 'scale', access: 'read' },
    { name: 'zero_point', access: 'read' },
    { name: 'noise', access: 'read' },
    { name: 'dy', access: 'read' },
    { name: 'grad', access: 'read_write' },
  ],
  uniforms: [...trainViewUniformFields, { name: 'scale_count', type: 'u32' }, { name: 'parts', type: 'u32' }],
  overrides: { WG: 64 },
  // x, noise and dy through the view, and the partial sums (binding 6).
  cost: (c) => {
    const { flops, bytes } = viewCost(3)(c);
    return { flops, bytes: bytes + c.bufferBytes[5] };
  },
  libraries: ['reduction'],
};

/** Parts per scale entry at most: a per-tensor scale over DeiT-S's 2.4 M fc2 inputs still fills 128 workgroups. */
const MAX_PARTS = 8192;

/**
 * Throws unless (i_k for the dims with size > 1 and a non-zero scale stride) ↦ Σ i_k·scale_k is a bijection
 * onto 0..scaleCount-1, i.e. those strides, sorted, form a mixed radix: 1, n_a, n_a·n_b, ... with product scaleCount.
 */
export function checkScaleBijection(view: QuantView, scaleCount: number, label: string): void {
  if (!view.sizes.every((n) => Number.isInteger(n) && n >= 1)) throw new Error(`${label}: view sizes [${view.sizes}] must be positive integers`);
  const dims = [0, 1, 2, 3].filter((k) => view.scale[k] !== 0 && view.sizes[k] > 1).sort((a, b) => view.scale[a] - view.scale[b]);
  let radix = 1;
  let mixed = true;
  for (const k of dims) {
    mixed &&= view.scale[k] === radix;
    radix *= view.sizes[k];
  }
  if (!mixed || radix !== scaleCount) {
    throw new Error(
      `${label}: the view's scale map (sizes [${view.sizes}], scale strides [${view.scale}]) is not a bijection onto the ${scaleCount} scale entries; ` +
        'fake-quant-scale-grad needs the scaled dims to index the scale as a mixed radix',
    );
  }
}

/**
 * Returns ds shaped like `scale`: ds[j] = Σ over the view's elements with scale index j of
 *   0                                  where noise[idx] >= keepProb (float path),
 *   dy · (round(x/s) - x/s)            where 0 <= t <= qmax (t = round(x/s) + round(z), qmax = 2^bits - 1),
 *   dy · (clamp(t, 0, qmax) - round(z)) where t is clamped;
 * x and dy use the view's addresses, noise the flat view index. Deterministic (fixed summation order).
 * Each entry's elements are split into parts of about `partElements`, one invocation each (at most
 * MAX_PARTS per entry, so that the second pass stays short), so that a per-tensor scale keeps
 * every core busy; the parts' sums are then added in order.
 */
export function fakeQuantScaleGrad(
  ctx: GpuContext,
  x: Tensor,
  scale: Tensor,
  zeroPoint: Tensor,
  noise: Tensor,
  keepProb: number,
  bits: number,
  view: QuantView,
  dy: Tensor,
  label: string,
  partElements = 64,
): Tensor {
  checkScaleBijection(view, scale.size, label);
  const perEntry = viewCount(view) / scale.size;
  const parts = Math.min(MAX_PARTS, Math.max(1, Math.ceil(perEntry / partElements)));
  const partials = ctx.empty(parts === 1 ? scale.shape : [scale.size, parts], parts === 1 ? label : `${label}.parts`);
  ctx.dispatch(
    fakeQuantScaleGradKernel,
    { ...trainViewUniforms(view, bits, keepProb, noise, label), scale_count: scale.size, parts },
    [x, scale, zeroPoint, noise, dy, partials],
    gridFor(scale.size * parts, fakeQuantScaleGradKernel.overrides.WG),
  );
  if (parts === 1) return partials;
  const grad = reduceSum(ctx, partials, scale.size, label);
  partials.release();
  return grad;
}
