/**
 * The web app (`npm run demo` serves it, `npm run build:demo` writes a static site to dist-demo/
 * that any static file server can serve, from any path). The demo model and the Fashion-MNIST
 * files (from Debian's dataset-fashion-mnist) are served beside the page and copied into the site.
 */
import { copyFileSync, createReadStream, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Plugin, defineConfig } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const fashionDir = process.env.FIMAQ_FASHION_MNIST_DIR || '/usr/share/datasets/fashion-mnist';
const FASHION_FILES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];

function checkFashion(): void {
  const missing = FASHION_FILES.filter((f) => !existsSync(join(fashionDir, f)));
  if (missing.length > 0) {
    throw new Error(`${fashionDir} lacks ${missing.join(', ')}: apt-get install -y --no-install-recommends dataset-fashion-mnist (or set FIMAQ_FASHION_MNIST_DIR)`);
  }
}

/** Serves /fashion-mnist/* in development and copies it, with the demo model, into the build. */
function demoAssets(): Plugin {
  let outDir = '';
  return {
    name: 'fimaq-demo-assets',
    configResolved(config) {
      outDir = config.build.outDir;
    },
    configureServer(server) {
      checkFashion();
      server.middlewares.use((req, res, next) => {
        const name = /\/fashion-mnist\/([\w.-]+)$/.exec(req.url ?? '')?.[1];
        if (!name || !FASHION_FILES.includes(name)) return next();
        res.setHeader('content-type', 'application/octet-stream');
        createReadStream(join(fashionDir, name)).pipe(res);
      });
    },
    writeBundle() {
      checkFashion();
      mkdirSync(join(outDir, 'fashion-mnist'), { recursive: true });
      for (const f of FASHION_FILES) copyFileSync(join(fashionDir, f), join(outDir, 'fashion-mnist', f));
      mkdirSync(join(outDir, 'fashion-vit'), { recursive: true });
      for (const f of readdirSync(join(here, 'fashion-vit'))) copyFileSync(join(here, 'fashion-vit', f), join(outDir, 'fashion-vit', f));
    },
  };
}

export default defineConfig({
  root: here,
  base: './',
  plugins: [demoAssets()],
  server: { fs: { allow: [root] } },
  worker: { format: 'es' },
  build: { outDir: join(root, 'dist-demo'), emptyOutDir: true, target: 'es2022' },
});
