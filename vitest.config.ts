import { defineConfig } from 'vitest/config';
import { configureVulkanEnv } from './src/runtime/vulkan-env.js';

// Dawn reads VK_ICD_FILENAMES from the real environment of the process that creates the GPU;
// setting it here, in vitest's main process, reaches the forked test workers.
configureVulkanEnv('auto');
process.env.XDG_RUNTIME_DIR ??= '/tmp';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    server: { deps: { inline: ['wgsl_reflect'] } },
  },
});
