/** qdrop-mix: QDrop's element-wise choice between a quantized and a float tensor. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const qdropMixKernel: KernelDescriptor = {
  name: 'qdrop-mix',
  entryPoint: 'main',
  storage: [
    { name: 'quantized', access: 'read' },
    { name: 'float_value', access: 'read' },
    { name: 'noise', access: 'read' },
    { name: 'out', access: 'read_write' },
  ],
  uniforms: [
    { name: 'count', type: 'u32' },
    { name: 'keep_prob', type: 'f32' },
  ],
  overrides: { WG: 256 },
};

/** Returns out[i] = noise[i] < keepProb ? quantized[i] : float[i], shaped like `quantized`. */
export function qdropMix(ctx: GpuContext, quantized: Tensor, float: Tensor, noise: Tensor, keepProb: number, label: string): Tensor {
  if (float.size !== quantized.size || noise.size !== quantized.size) {
    throw new Error(`${label}: quantized, float and noise sizes differ (${quantized.size}, ${float.size}, ${noise.size})`);
  }
  const out = ctx.empty(quantized.shape, label);
  ctx.dispatch(qdropMixKernel, { count: quantized.size, keep_prob: keepProb }, [quantized, float, noise, out], gridFor(quantized.size, qdropMixKernel.overrides.WG));
  return out;
}
