/** adaround-backward: gradient in alpha of the soft AdaRound weight's loss plus the rounding regulariser. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';
import { weightShape } from './adaround-init.js';

export const adaroundBackwardKernel: KernelDescriptor = {
  name: 'adaround-backward',
  entryPoint: 'main',
  storage: [
    { name: 'base', access: 'read' },
    { name: 'alpha', access: 'read' },
    { name: 'scale', access: 'read' },
    { name: 'zero_point', access: 'read' },
    { name: 'd_what', access: 'read' },
    { name: 'd_alpha', access: 'read_write' },
  ],
  uniforms: [
    { name: 'rows', type: 'u32' },
    { name: 'cols', type: 'u32' },
    { name: 'qmax', type: 'f32' },
    { name: 'reg_lambda', type: 'f32' },
    { name: 'reg_beta', type: 'f32' },
  ],
  overrides: { WG: 256 },
};

/**
 * dAlpha [rows, cols] = d/d alpha of Σ dWhat * w_hat(soft) + lambda Σ (1 - |2 h(alpha) - 1|^beta), as
 * PyTorch autograd computes it (inclusive clamp edges). lambda = 0 drops the regulariser; beta > 1.
 */
export function adaroundBackward(
  ctx: GpuContext,
  base: Tensor,
  alpha: Tensor,
  scale: Tensor,
  zeroPoint: Tensor,
  bits: number,
  dWhat: Tensor,
  lambda: number,
  beta: number,
  label: string,
): Tensor {
  const [rows, cols] = weightShape(base, scale, label);
  const dAlpha = ctx.empty([rows, cols], label);
  ctx.dispatch(
    adaroundBackwardKernel,
    { rows, cols, qmax: 2 ** bits - 1, reg_lambda: lambda, reg_beta: beta },
    [base, alpha, scale, zeroPoint, dWhat, dAlpha],
    gridFor(rows * cols, adaroundBackwardKernel.overrides.WG),
  );
  return dAlpha;
}
