/**
 * Browser entry to the engine: the same runtime and model code as Node, with `navigator.gpu` and
 * the WGSL files bundled by Vite. Exposes a small API for pages and for the headless-Chromium test.
 */
import { preprocess, type PreprocessConfig, type RawImage } from '../data/preprocess.js';
import { checkpointFromBytes } from '../model/checkpoint.js';
import { VitModel } from '../model/vit.js';
import type { AdapterSummary, GpuContext } from '../runtime/context.js';
import { createContext } from '../runtime/device.js';

const sources = import.meta.glob('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

function shaderSource(name: string): string {
  const code = sources[`../../shaders/${name}.wgsl`];
  if (code === undefined) throw new Error(`shader ${name}.wgsl is not bundled`);
  return code;
}

export async function createBrowserContext(): Promise<GpuContext> {
  if (!('gpu' in navigator)) throw new Error('this browser has no WebGPU (navigator.gpu is missing)');
  return createContext(navigator.gpu, shaderSource, {
    backend: 'browser',
    noAdapterHint: 'enable WebGPU in this browser (Chrome: chrome://flags/#enable-unsafe-webgpu)',
  });
}

/** Logits [count, classes] of a checkpoint (config.json text + model.safetensors bytes) on preprocessed images. */
export async function forward(configText: string, safetensors: Uint8Array, images: Float32Array, count: number): Promise<{ logits: Float32Array; adapter: AdapterSummary }> {
  const ckpt = checkpointFromBytes(configText, safetensors, 'browser');
  const ctx = await createBrowserContext();
  try {
    const model = VitModel.upload(ctx, ckpt);
    const c = ckpt.config;
    const input = ctx.upload(images, [count, c.inChans, c.imgSize, c.imgSize], 'images');
    const logits = await ctx.read(model.forward(input));
    return { logits, adapter: ctx.adapter };
  } finally {
    await ctx.dispose();
  }
}

export function preprocessImage(img: RawImage, cfg: PreprocessConfig): Float32Array {
  return preprocess(img, cfg);
}
