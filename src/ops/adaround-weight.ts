/** adaround-weight: AdaRound's soft or hard quantize-dequantize of a weight from base and alpha. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';
import { weightShape } from './adaround-init.js';

export const adaroundWeightKernel: KernelDescriptor = {
  name: 'adaround-weight',
  entryPoint: 'main',
  storage: [
    { name: 'base', access: 'read' },
    { name: 'alpha', access: 'read' },
    { name: 'scale', access: 'read' },
    { name: 'zero_point', access: 'read' },
    { name: 'w_hat', access: 'read_write' },
  ],
  uniforms: [
    { name: 'rows', type: 'u32' },
    { name: 'cols', type: 'u32' },
    { name: 'qmax', type: 'f32' },
    { name: 'hard', type: 'u32' },
  ],
  overrides: { WG: 256 },
};

/**
 * base, alpha [rows, cols]; scale, zeroPoint [rows] (zero points hold integers) ->
 * w_hat = (clamp(base + r + z, 0, 2^bits - 1) - z) * s, r = h(alpha) when soft, [alpha >= 0] when hard.
 */
export function adaroundWeight(
  ctx: GpuContext,
  base: Tensor,
  alpha: Tensor,
  scale: Tensor,
  zeroPoint: Tensor,
  bits: number,
  hard: boolean,
  label: string,
): Tensor {
  const [rows, cols] = weightShape(base, scale, label);
  const wHat = ctx.empty([rows, cols], label);
  ctx.dispatch(
    adaroundWeightKernel,
    { rows, cols, qmax: 2 ** bits - 1, hard: hard ? 1 : 0 },
    [base, alpha, scale, zeroPoint, wHat],
    gridFor(rows * cols, adaroundWeightKernel.overrides.WG),
  );
  return wHat;
}
