/**
 * The package's browser entry (`fimaq-webgpu` under the `browser` condition, built into
 * dist-browser/fimaq.js with the shaders inlined): the pure API (src/pipeline/public-api.ts,
 * which the Node entry exports too), plus `navigator.gpu`, fetched and dropped data, and the
 * origin private file system, by name.
 */
// Kept in the emitted .d.ts so a consumer's compiler sees GPUDevice and the other WebGPU types.
/// <reference types="@webgpu/types" preserve="true" />
export * from '../pipeline/public-api.js';
export { fashionMnistFromUrl, imageFolderFromFiles } from './datasets.js';
export { createBrowserContext } from './engine.js';
export { OpfsStore } from './opfs-store.js';
