/** Node entry to the runtime: Dawn through the npm `webgpu` package, shaders read from `shaders/`. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GpuContext } from './context.js';
import { type AcquireOptions, createContext } from './device.js';
import { type AdapterChoice, NO_ADAPTER_HINT, configureVulkanEnv } from './vulkan-env.js';

/** The package root: two levels above this file in both src/runtime and dist/runtime. */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const shaderCache = new Map<string, string>();
export function readShader(name: string): string {
  let code = shaderCache.get(name);
  if (code === undefined) {
    code = readFileSync(join(PACKAGE_ROOT, 'shaders', `${name}.wgsl`), 'utf8');
    shaderCache.set(name, code);
  }
  return code;
}

export interface NodeAcquireOptions extends AcquireOptions {
  adapter?: AdapterChoice;
  /**
   * false: Dawn compiles shaders without the bounds clamping Tint adds to every buffer access
   * (its disable_robustness toggle). The engine's kernels clamp their own indices and give
   * bit-identical results either way (test/runtime/bounds-checks.test.ts). Default: off on
   * SwiftShader, where the clamping costs about a third of the time, and on elsewhere, where it
   * costs little and an indexing bug then stays inside its buffer. Browsers do not offer this.
   */
  boundsChecks?: boolean;
}

export async function createNodeContext(options: NodeAcquireOptions = {}): Promise<GpuContext> {
  const driver = configureVulkanEnv(options.adapter ?? 'auto');
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const checked = options.boundsChecks ?? !usesSwiftShader();
  const gpu = create(checked ? [] : ['enable-dawn-features=disable_robustness']);
  const backend = `dawn-node (${driver}${checked ? '' : ', bounds checks off'})`;
  return createContext(gpu, readShader, { hostWait: sleepingWait, ...options, backend, noAdapterHint: NO_ADAPTER_HINT });
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Awaits `p` while dawn-node gets to poll once a millisecond instead of back to back: between
 * polls the main thread sleeps (Atomics.wait), leaving the cores to a CPU adapter's threads
 * (ContextOptions.hostWait). Timers and I/O callbacks wait at most that millisecond longer.
 */
export async function sleepingWait<T>(p: Promise<T>): Promise<T> {
  let settled = false;
  const done = () => {
    settled = true;
  };
  p.then(done, done);
  while (!settled) {
    Atomics.wait(sleeper, 0, 0, 1);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return p;
}

/** Whether Dawn will load SwiftShader, the CPU Vulkan driver (configureVulkanEnv has run). */
function usesSwiftShader(env: NodeJS.ProcessEnv = process.env): boolean {
  return /swiftshader/i.test(env.VK_ICD_FILENAMES ?? env.VK_DRIVER_FILES ?? '');
}
