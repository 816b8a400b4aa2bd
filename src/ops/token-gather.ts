/** token-gather: rows of each image's tokens moved by a map (Swin's window partition and merge, patch merging). */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

/** A map entry that writes a row of zeros (Swin's padding to whole windows). */
export const ZERO_ROW = 0xffffffff;

export const tokenGatherKernel: KernelDescriptor = {
  name: 'token-gather',
  entryPoint: 'main',
  storage: [
    { name: 'src', access: 'read' },
    { name: 'row_map', access: 'read' },
    { name: 'out', access: 'read_write' },
  ],
  uniforms: ['batch', 'out_rows', 'src_rows', 'cols'].map((name) => ({ name, type: 'u32' as const })),
  overrides: { WG: 256 },
  cost: ({ uniforms: u }) => ({ flops: 0, bytes: 4 * u.out_rows + 8 * u.batch * u.out_rows * u.cols }),
};

/**
 * Records out[b, r, :] = src[b, map[r], :] (zeros where map[r] is ZERO_ROW) for the `batch` images
 * of src, whose rows of `cols` values are `srcRows` per image; `map` (u32) has the output rows of
 * one image. The output has `outShape`, whose size must be batch · map.size · cols.
 */
export function tokenGather(ctx: GpuContext, src: Tensor, map: Tensor, batch: number, cols: number, outShape: number[], label: string): Tensor {
  if (map.dtype !== 'u32') throw new Error(`${label}: the map must be u32`);
  if (src.size % (batch * cols) !== 0) throw new Error(`${label}: [${src.shape}] is not ${batch} images of rows of ${cols}`);
  const outRows = map.size;
  const count = batch * outRows * cols;
  if (outShape.reduce((a, b) => a * b, 1) !== count) throw new Error(`${label}: [${outShape}] does not hold ${batch} x ${outRows} rows of ${cols}`);
  const out = ctx.empty(outShape, label);
  ctx.dispatch(tokenGatherKernel, { batch, out_rows: outRows, src_rows: src.size / (batch * cols), cols }, [src, map, out], gridFor(count, tokenGatherKernel.overrides.WG));
  return out;
}
