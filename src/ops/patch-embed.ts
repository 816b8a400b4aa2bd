/** patch-embed: PxP stride-P convolution from images [B, C, H, W] to patch tokens [B, N, D]. */
import type { GpuContext, Tensor } from '../runtime/context.js';
import { defaultCost, gridFor, type KernelDescriptor } from '../runtime/kernel.js';

export const patchEmbedKernel: KernelDescriptor = {
  name: 'patch-embed',
  entryPoint: 'main',
  storage: [
    { name: 'img', access: 'read' },
    { name: 'w', access: 'read' },
    { name: 'bias', access: 'read' },
    { name: 'out', access: 'read_write' },
  ],
  uniforms: ['batch', 'channels', 'height', 'width', 'patch_size', 'dim', 'grid_w', 'patches'].map((name) => ({ name, type: 'u32' as const })),
  overrides: { WG: 64 },
  cost: (c) => {
    const u = c.uniforms;
    return { flops: 2 * u.batch * u.patches * u.dim * u.channels * u.patch_size ** 2, bytes: defaultCost(c).bytes };
  },
};

/** weight [D, C, P, P], bias [D]. */
export function patchEmbed(ctx: GpuContext, images: Tensor, weight: Tensor, bias: Tensor, label: string): Tensor {
  const [batch, channels, height, width] = images.shape;
  const [dim, wc, patch] = weight.shape;
  if (wc !== channels || height % patch !== 0 || width % patch !== 0) {
    throw new Error(`${label}: images [${images.shape}] do not fit weight [${weight.shape}]`);
  }
  const gridW = width / patch;
  const patches = gridW * (height / patch);
  const out = ctx.empty([batch, patches, dim], label);
  ctx.dispatch(
    patchEmbedKernel,
    { batch, channels, height, width, patch_size: patch, dim, grid_w: gridW, patches },
    [images, weight, bias, out],
    gridFor(out.size, patchEmbedKernel.overrides.WG),
  );
  return out;
}
