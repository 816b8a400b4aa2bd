/**
 * The package's Node entry (`fimaq-webgpu` under the `node` condition, dist/node/index.js): the
 * pure API (src/pipeline/public-api.ts, which the browser entry exports too), plus Dawn and the
 * file system, by name.
 */
// Kept in the emitted .d.ts so a consumer's compiler sees GPUDevice and the other WebGPU types.
/// <reference types="@webgpu/types" preserve="true" />
export * from '../pipeline/public-api.js';
export { openDataset } from '../data/open.js';
export { loadCheckpoint, loadVitCheckpoint } from '../io/checkpoint-node.js';
export { readQuantizedModel, writeQuantizedModel } from '../io/quantized-file-node.js';
export { FolderStore } from '../io/run-store-node.js';
export { type NodeAcquireOptions, createNodeContext } from '../runtime/node-gpu.js';
export type { AdapterChoice } from '../runtime/vulkan-env.js';
