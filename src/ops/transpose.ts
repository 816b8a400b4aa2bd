/** transpose: a strided [rows, cols] matrix written as [cols, rows] with a chosen row stride. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const transposeKernel: KernelDescriptor = {
  name: 'transpose',
  entryPoint: 'main',
  storage: [
    { name: 'src', access: 'read' },
    { name: 'out', access: 'read_write' },
  ],
  uniforms: ['rows', 'cols', 'off', 'rs', 'out_rs'].map((name) => ({ name, type: 'u32' as const })),
  overrides: { WG: 256 },
  cost: ({ uniforms: u }) => ({ flops: 0, bytes: 8 * u.rows * u.cols }),
};

/**
 * Returns [cols, outRowStride] holding out[c * outRowStride + r] = src[offset + r * rowStride + c];
 * the padding of each row past `rows` is left uninitialised.
 */
export function transpose(ctx: GpuContext, src: Tensor, rows: number, cols: number, rowStride: number, offset: number, outRowStride: number, label: string): Tensor {
  if (outRowStride < rows) throw new Error(`${label}: row stride ${outRowStride} is below the ${rows} values of a row`);
  if (offset + (rows - 1) * rowStride + cols > src.size) throw new Error(`${label}: a [${rows}, ${cols}] matrix (stride ${rowStride}) at ${offset} reaches past [${src.shape}]`);
  const out = ctx.empty([cols, outRowStride], label);
  ctx.dispatch(transposeKernel, { rows, cols, off: offset, rs: rowStride, out_rs: outRowStride }, [src, out], gridFor(rows * cols, transposeKernel.overrides.WG));
  return out;
}
