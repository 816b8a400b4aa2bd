/** reduce-sum: row sums of a [rows, cols] tensor (Kahan-compensated, deterministic order). */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const reduceSumKernel: KernelDescriptor = {
  name: 'reduce-sum',
  entryPoint: 'main',
  storage: [
    { name: 'x', access: 'read' },
    { name: 'out', access: 'read_write' },
  ],
  uniforms: [
    { name: 'rows', type: 'u32' },
    { name: 'cols', type: 'u32' },
  ],
  overrides: { WG: 64 },
  libraries: ['reduction'],
};

/** Returns the row sums of x as `rows` values, shaped `shape` ([rows] by default). */
export function reduceSum(ctx: GpuContext, x: Tensor, rows: number, label: string, shape: readonly number[] = [rows]): Tensor {
  const cols = x.size / rows;
  if (!Number.isInteger(cols)) throw new Error(`${label}: ${x.size} values are not ${rows} rows`);
  if (shape.reduce((n, d) => n * d, 1) !== rows) throw new Error(`${label}: shape [${shape}] does not hold ${rows} sums`);
  const out = ctx.empty(shape, label);
  ctx.dispatch(reduceSumKernel, { rows, cols }, [x, out], gridFor(rows, reduceSumKernel.overrides.WG));
  return out;
}
