/**
 * The browser build of the package (`npm run build:browser`): src/browser/index.ts as one ES
 * module, dist-browser/fimaq.js, with every WGSL file inlined by engine.ts's import.meta.glob and
 * the small pure dependencies bundled, so a page or any bundler can use it without Vite.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [
    {
      // Vite would quietly stub Node modules for the browser; an import of one means a Node-only
      // file was reached from the browser entry, so the build fails instead.
      name: 'fimaq-no-node-modules',
      enforce: 'pre',
      resolveId(id, importer) {
        if (id.startsWith('node:') || id === 'webgpu' || id === 'pngjs') this.error(`${importer} imports ${id}, which the browser bundle cannot contain`);
        return null;
      },
    },
  ],
  build: {
    outDir: 'dist-browser',
    emptyOutDir: true,
    lib: { entry: 'src/browser/index.ts', formats: ['es'], fileName: () => 'fimaq.js' },
  },
});
