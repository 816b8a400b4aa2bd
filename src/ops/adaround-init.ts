/** adaround-init: base = floor(w / s) and the AdaRound alpha with h(alpha) = frac(w / s), per-row scales. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const adaroundInitKernel: KernelDescriptor = {
  name: 'adaround-init',
  entryPoint: 'main',
  storage: [
    { name: 'w', access: 'read' },
    { name: 'scale', access: 'read' },
    { name: 'base', access: 'read_write' },
    { name: 'alpha', access: 'read_write' },
  ],
  uniforms: ['rows', 'cols'].map((name) => ({ name, type: 'u32' as const })),
  overrides: { WG: 256 },
};

/** [rows, cols] weight and the shape check shared by the AdaRound ops. */
export function weightShape(w: Tensor, scale: Tensor, label: string): [number, number] {
  if (w.shape.length !== 2 || scale.size !== w.shape[0]) throw new Error(`${label}: weight [${w.shape}] needs one scale per row, got [${scale.shape}]`);
  return [w.shape[0], w.shape[1]];
}

/**
 * w [rows, cols], scale [rows] -> base = floor(w / s_row) (a float tensor of integers, the floor
 * every other AdaRound op reads) and alpha = -log((zeta - gamma) / (frac - gamma) - 1), frac = w / s - base,
 * so that h(alpha) = frac: the soft weight starts equal to w wherever it is not clamped.
 */
export function adaroundInit(ctx: GpuContext, w: Tensor, scale: Tensor, label: string): { base: Tensor; alpha: Tensor } {
  const [rows, cols] = weightShape(w, scale, label);
  const base = ctx.empty([rows, cols], `${label}.base`);
  const alpha = ctx.empty([rows, cols], `${label}.alpha`);
  ctx.dispatch(adaroundInitKernel, { rows, cols }, [w, scale, base, alpha], gridFor(rows * cols, adaroundInitKernel.overrides.WG));
  return { base, alpha };
}
