/** abs-accumulate: column sums of |x|, |x - y| or x² added into an accumulator (streamed Fisher statistics). */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const absAccumulateKernel: KernelDescriptor = {
  name: 'abs-accumulate',
  entryPoint: 'main',
  storage: [
    { name: 'x', access: 'read' },
    { name: 'y', access: 'read' },
    { name: 'acc', access: 'read_write' },
  ],
  uniforms: [
    { name: 'rows', type: 'u32' },
    { name: 'cols', type: 'u32' },
  ],
  overrides: { WG: 256, HAS_Y: 0, SQUARE: 0 },
};

/** acc[d] += Σ_b |x[b, d] - y[b, d]| (|x[b, d]| without y; x[b, d]² with `square`); x and y are [rows, acc.size]. */
export function absAccumulate(ctx: GpuContext, x: Tensor, y: Tensor | null, acc: Tensor, square = false): void {
  const cols = acc.size;
  if (x.size % cols !== 0) throw new Error(`abs-accumulate: ${x.size} values are not rows of ${cols}`);
  if (y && y.size !== x.size) throw new Error(`abs-accumulate: x has ${x.size} values, y ${y.size}`);
  if (y && square) throw new Error('abs-accumulate: squares of x alone');
  const rows = x.size / cols;
  ctx.dispatch(absAccumulateKernel, { rows, cols }, [x, y ?? ctx.placeholder, acc], gridFor(cols, absAccumulateKernel.overrides.WG), { HAS_Y: y ? 1 : 0, SQUARE: square ? 1 : 0 });
}
