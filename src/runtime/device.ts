/**
 * Device acquisition from any `GPU` object: `navigator.gpu` in the browser, Dawn's in Node
 * (src/runtime/node-gpu.ts). Limits that the engine's buffers depend on are raised to what the
 * adapter allows, and the features it can use are requested when present.
 */
import { FimaqError } from '../util/errors.js';
import { type AdapterSummary, type ContextOptions, GpuContext, type ShaderSource } from './context.js';

const WANTED_FEATURES: GPUFeatureName[] = ['timestamp-query', 'subgroups', 'shader-f16'];
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
] as const;

export function summarizeAdapter(adapter: GPUAdapter, backend: string): AdapterSummary {
  const info = adapter.info;
  const legacyFallback = (adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter;
  const infoFallback = (info as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter;
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    fallback: Boolean(infoFallback ?? legacyFallback),
    backend,
  };
}

export interface AcquireOptions extends ContextOptions {
  powerPreference?: GPUPowerPreference;
  /** Set by the caller to explain how to get an adapter on this platform when none exists. */
  noAdapterHint?: string;
  backend?: string;
}

export async function createContext(gpu: GPU, shaderSource: ShaderSource, options: AcquireOptions = {}): Promise<GpuContext> {
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) {
    throw new FimaqError(`no WebGPU adapter found${options.noAdapterHint ? `: ${options.noAdapterHint}` : ''}`);
  }
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ label: 'fimaq', requiredFeatures, requiredLimits });
  return new GpuContext(gpu, device, summarizeAdapter(adapter, options.backend ?? 'webgpu'), shaderSource, options);
}
