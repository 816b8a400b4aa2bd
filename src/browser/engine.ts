/**
 * Browser entry to the engine: the same runtime and model code as Node, with `navigator.gpu` and
 * the WGSL files bundled by Vite. Exposes a small API for pages and for the headless-Chromium test.
 */
import { preprocess, type PreprocessConfig, type RawImage } from '../data/preprocess.js';
import type { Classifier } from '../model/classifier.js';
import { uploadIntModel } from '../inference/int-model.js';
import { timeForwardMs } from '../inference/time-forward.js';
import { parseQuantizedModel } from '../io/quantized-file.js';
import { checkpointFromBytes } from '../io/checkpoint-file.js';
import { uploadFloatModel } from '../model/float-model.js';
import { FakeQuantModel } from '../quant/fake-quant-model.js';
import type { AdapterSummary, ContextOptions, GpuContext } from '../runtime/context.js';
import { createContext } from '../runtime/device.js';

const sources = import.meta.glob('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

function shaderSource(name: string): string {
  const code = sources[`../../shaders/${name}.wgsl`];
  if (code === undefined) throw new Error(`shader ${name}.wgsl is not bundled`);
  return code;
}

/** A context on `navigator.gpu` (in a page or a worker); options as for Node's (profile, debug, ...). */
export async function createBrowserContext(options: ContextOptions = {}): Promise<GpuContext> {
  if (!('gpu' in navigator)) throw new Error('this browser has no WebGPU (navigator.gpu is missing)');
  return createContext(navigator.gpu, shaderSource, {
    ...options,
    backend: 'browser',
    noAdapterHint: 'enable WebGPU in this browser (Chrome: chrome://flags/#enable-unsafe-webgpu)',
  });
}

/** A model to run in the page: a float checkpoint, or a quantized-model file on one of its two engines. */
export type ModelBytes =
  | { kind: 'float'; configText: string; safetensors: Uint8Array }
  | { kind: 'int' | 'fake'; quantized: Uint8Array };

function uploadModel(ctx: GpuContext, m: ModelBytes): Classifier & { release(): void } {
  if (m.kind === 'float') return uploadFloatModel(ctx, checkpointFromBytes(m.configText, m.safetensors, 'browser'));
  const q = parseQuantizedModel(m.quantized, 'browser');
  return m.kind === 'int' ? uploadIntModel(ctx, q) : FakeQuantModel.upload(ctx, q);
}

/** Logits [count, classes] of any model kind on preprocessed images. */
export async function run(m: ModelBytes, images: Float32Array, count: number): Promise<{ logits: Float32Array; adapter: AdapterSummary }> {
  const ctx = await createBrowserContext();
  try {
    const model = uploadModel(ctx, m);
    const input = ctx.upload(images, [count, ...model.inputShape], 'images');
    const logits = await ctx.read(model.forward(input));
    return { logits, adapter: ctx.adapter };
  } finally {
    await ctx.dispose();
  }
}

/** Milliseconds per forward at a batch size (see src/inference/time-forward.ts), with the adapter it ran on. */
export async function timeForward(m: ModelBytes, batch: number, repeats: number, warmup = 1): Promise<{ times_ms: number[]; adapter: AdapterSummary; languageFeatures: string[] }> {
  const ctx = await createBrowserContext();
  try {
    const model = uploadModel(ctx, m);
    const [c, h, w] = model.inputShape;
    const images = new Float32Array(batch * c * h * w).map((_, i) => Math.sin(i));
    const times_ms = await timeForwardMs(model, images, batch, repeats, warmup);
    model.release();
    return { times_ms, adapter: ctx.adapter, languageFeatures: [...ctx.languageFeatures].sort() };
  } finally {
    await ctx.dispose();
  }
}

export function preprocessImage(img: RawImage, cfg: PreprocessConfig): Float32Array {
  return preprocess(img, cfg);
}
