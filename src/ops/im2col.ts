/** im2col: images [B, C, H, W] to patch rows [B, N, C*P*P] for a PxP stride-P convolution. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const im2colKernel: KernelDescriptor = {
  name: 'im2col',
  entryPoint: 'main',
  storage: [
    { name: 'img', access: 'read' },
    { name: 'rows', access: 'read_write' },
  ],
  uniforms: ['batch', 'channels', 'height', 'width', 'patch_size', 'grid_w', 'patches'].map((name) => ({ name, type: 'u32' as const })),
  overrides: { WG: 256 },
};

export function im2colRows(ctx: GpuContext, images: Tensor, patch: number, label: string): Tensor {
  const [batch, channels, height, width] = images.shape;
  if (height % patch !== 0 || width % patch !== 0) throw new Error(`${label}: images [${images.shape}] are not a multiple of patch ${patch}`);
  const gridW = width / patch;
  const patches = gridW * (height / patch);
  const rows = ctx.empty([batch, patches, channels * patch * patch], label);
  ctx.dispatch(
    im2colKernel,
    { batch, channels, height, width, patch_size: patch, grid_w: gridW, patches },
    [images, rows],
    gridFor(rows.size, im2colKernel.overrides.WG),
  );
  return rows;
}
