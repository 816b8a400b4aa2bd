/** adam: one in-place step of torch.optim.Adam (no weight decay, no amsgrad). */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { powInt } from '../util/det-math.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const adamKernel: KernelDescriptor = {
  name: 'adam',
  entryPoint: 'main',
  storage: [
    { name: 'param', access: 'read_write' },
    { name: 'grad', access: 'read' },
    { name: 'm', access: 'read_write' },
    { name: 'v', access: 'read_write' },
  ],
  uniforms: [
    { name: 'count', type: 'u32' },
    ...['beta1', 'one_minus_beta1', 'beta2', 'one_minus_beta2', 'step_size', 'bc2_sqrt', 'eps'].map((name) => ({ name, type: 'f32' as const })),
  ],
  overrides: { WG: 256 },
};

export interface AdamOptions {
  lr: number;
  /** 1 for the first step. */
  step: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/**
 * Records param -= lr / (1 - beta1^step) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps) after
 * m = beta1 m + (1 - beta1) grad and v = beta2 v + (1 - beta2) grad^2, all in place. m and v start
 * at zero (the caller clears them); defaults are PyTorch's: beta1 0.9, beta2 0.999, eps 1e-8.
 */
export function adamStep(ctx: GpuContext, param: Tensor, grad: Tensor, m: Tensor, v: Tensor, o: AdamOptions): void {
  const { lr, step, beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = o;
  if (!Number.isInteger(step) || step < 1) throw new Error(`adam: step ${step} must be an integer >= 1`);
  if (grad.size !== param.size || m.size !== param.size || v.size !== param.size) {
    throw new Error(`adam: param [${param.shape}], grad [${grad.shape}], m [${m.shape}], v [${v.shape}] differ in size`);
  }
  ctx.dispatch(
    adamKernel,
    {
      count: param.size,
      beta1,
      one_minus_beta1: 1 - beta1,
      beta2,
      one_minus_beta2: 1 - beta2,
      // powInt: the same bits in every JavaScript engine (`**` differs between V8 versions).
      step_size: lr / (1 - powInt(beta1, step)),
      bc2_sqrt: Math.sqrt(1 - powInt(beta2, step)),
      eps,
    },
    [param, grad, m, v],
    gridFor(param.size, adamKernel.overrides.WG),
  );
}
