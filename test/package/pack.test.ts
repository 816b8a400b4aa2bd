/**
 * The package as a consumer gets it: `npm pack` (its prepack builds dist/ and dist-browser/), the
 * tarball installed into an empty project, then the Node entry run from a plain script, both
 * entries' types checked with README's examples, and the browser entry bundled by Vite into a page
 * that runs in headless Chromium. Each run must give what the same computation gives in this
 * process from the source.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { promisify } from 'node:util';
import puppeteer from 'puppeteer-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as source from '../../src/node/index.js';
import { PACKAGE_ROOT } from '../../src/runtime/node-gpu.js';
import { uniformTensor } from '../../src/util/prng.js';
import { CHROMIUM, CHROMIUM_FLAGS } from '../helpers/browser.js';
import { randomVitCheckpoint } from '../helpers/random-vit.js';

const run = promisify(execFile);
// onnxruntime-node is a dev dependency only, but keep any install from fetching CUDA libraries.
const ENV = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };
const TSC = join(PACKAGE_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

const CONFIG = JSON.stringify({ architecture: 'vit_tiny_patch4_12', model_args: { img_size: 12, patch_size: 4, in_chans: 1, embed_dim: 16, depth: 2, num_heads: 2, num_classes: 6 } });
const COUNT = 8;
/** A FIMA-Q run small enough for a test: every phase of the pipeline, a few steps each. */
const REQUEST = {
  method: 'fimaq',
  wbits: 4,
  abits: 4,
  seed: 7,
  settings: { ...source.PRESETS.quick, iters: 4, batch: 4, calibSize: COUNT, searchSize: 4, searchCandidates: 16, reportEvery: 2 },
  preset: 'quick',
  fisher: { ...source.DEFAULT_FISHER, k: 2 },
  toolVersion: 'pack-test',
} as const;
const NODE_ONLY = ['FolderStore', 'createNodeContext', 'loadCheckpoint', 'loadVitCheckpoint', 'openDataset', 'readQuantizedModel', 'writeQuantizedModel'];

interface Outcome {
  exports: string[];
  float: number[];
  int: number[];
  file: string;
}

/** The consumer's Node script: the checkpoint folder and images the test wrote, the packed package. */
const NODE_SCRIPT = `
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as fimaq from 'fimaq-webgpu';

const request = JSON.parse(readFileSync('request.json', 'utf8'));
const pixels = new Float32Array(Uint8Array.from(readFileSync('public/images.f32')).buffer);
const count = ${COUNT};
const checkpoint = await fimaq.loadCheckpoint('public/model');
const ctx = await fimaq.createNodeContext();
const logits = async (model) => Array.from(await ctx.read(model.forward(ctx.upload(pixels, [count, ...model.inputShape], 'images'))));
const float = await logits(fimaq.VitModel.upload(ctx, checkpoint));
const calibration = { pixels, count, name: 'random', selection: 'seeded', indices: [...Array(count).keys()] };
const r = await fimaq.quantizeModel(ctx, { ...request, checkpoint, calibration }, { store: new fimaq.MemoryStore() });
const int = await logits(fimaq.uploadIntModel(ctx, r.quantized));
await ctx.dispose();
console.log(JSON.stringify({ exports: Object.keys(fimaq).sort(), float, int, file: createHash('sha256').update(r.bytes).digest('hex') }));
`;

/** The page: the float checkpoint and the quantized file the test wrote, on navigator.gpu. */
const PAGE_SCRIPT = `
import * as fimaq from 'fimaq-webgpu';

const bytes = async (name) => new Uint8Array(await (await fetch(name)).arrayBuffer());
async function main() {
  const pixels = new Float32Array((await bytes('images.f32')).buffer);
  const checkpoint = fimaq.checkpointFromBytes(await (await fetch('model/config.json')).text(), await bytes('model/model.safetensors'), 'model');
  const quantized = fimaq.parseQuantizedModel(await bytes('model-w4a4.safetensors'), 'model-w4a4.safetensors');
  const ctx = await fimaq.createBrowserContext();
  const logits = async (model) => Array.from(await ctx.read(model.forward(ctx.upload(pixels, [${COUNT}, ...model.inputShape], 'images'))));
  const result = { exports: Object.keys(fimaq), float: await logits(fimaq.VitModel.upload(ctx, checkpoint)), int: await logits(fimaq.uploadIntModel(ctx, quantized)), adapter: ctx.adapter };
  await ctx.dispose();
  return result;
}
main().then((r) => (window.result = r), (e) => (window.result = { error: String(e?.stack ?? e) }));
`;

/** The TypeScript blocks of README's "Use it as a library": the Node example, then the page example. */
function readmeExamples(): string[] {
  const readme = readFileSync(join(PACKAGE_ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Use it as a library')) ?? '';
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
}

const CONTENT_TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json' };

/** Serves `root` on 127.0.0.1 (a secure context, as WebGPU requires) until `close`. */
async function serve(root: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = normalize(join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://host').pathname)));
    try {
      if (!path.startsWith(root)) throw new Error('outside the root');
      const body = readFileSync(path.endsWith('/') ? join(path, 'index.html') : path);
      res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(path) || '.html'] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('static server has no port');
  return { url: `http://127.0.0.1:${address.port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('the packed package', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'fimaq-pack-'));
  const app = join(tmp, 'app');
  let packed: string[];
  let expected: Outcome & { bytes: Uint8Array };

  beforeAll(async () => {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: PACKAGE_ROOT, env: ENV, maxBuffer: 1 << 26 });
    const [info] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    packed = info.files.map((f) => f.path);

    mkdirSync(join(app, 'public', 'model'), { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(tmp, info.filename)], { cwd: app, env: ENV });

    const pixels = uniformTensor(3, 1, COUNT * 144, 0, 1.5);
    writeFileSync(join(app, 'public', 'model', 'config.json'), CONFIG);
    writeFileSync(join(app, 'public', 'model', 'model.safetensors'), source.checkpointToSafetensors(randomVitCheckpoint(CONFIG, 5)));
    writeFileSync(join(app, 'public', 'images.f32'), new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength));
    writeFileSync(join(app, 'request.json'), JSON.stringify(REQUEST));

    // The same computation from the source in this process, on the checkpoint as read from the
    // folder (the file's model digest follows the order of the tensors).
    const checkpoint = await source.loadVitCheckpoint(join(app, 'public', 'model'), 'the test');
    const ctx = await source.createNodeContext();
    try {
      const logits = async (model: source.Classifier) => Array.from(await ctx.read(model.forward(ctx.upload(pixels, [COUNT, ...model.inputShape], 'images'))));
      const calibration = { pixels, count: COUNT, name: 'random', selection: 'seeded' as const, indices: [...Array(COUNT).keys()] };
      const r = await source.quantizeModel(ctx, { ...REQUEST, checkpoint, calibration }, { store: new source.MemoryStore() });
      expected = {
        exports: Object.keys(source).sort(),
        float: await logits(source.VitModel.upload(ctx, checkpoint)),
        int: await logits(source.uploadIntModel(ctx, r.quantized)),
        file: createHash('sha256').update(r.bytes).digest('hex'),
        bytes: r.bytes,
      };
    } finally {
      await ctx.dispose();
    }
  }, 300_000);

  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('holds both builds, the shaders, the CLI and the demo model, and no tests or tools', () => {
    for (const path of ['package.json', 'README.md', 'bin/fimaq.js', 'dist/node/index.js', 'dist/node/index.d.ts', 'dist/cli/main.js', 'dist-browser/fimaq.js', 'dist-browser/types/browser/index.d.ts', 'shaders/matmul.wgsl', 'demo/fashion-vit/model.safetensors']) {
      expect(packed).toContain(path);
    }
    expect(packed.filter((p) => /^(src|test|bench|tools|scripts|docs)\/|\.map$|^demo\/(?!fashion-vit\/)/.test(p))).toEqual([]);
    const bundle = readFileSync(join(app, 'node_modules', 'fimaq-webgpu', 'dist-browser', 'fimaq.js'), 'utf8');
    // Self-contained: no import of any module, so neither webgpu nor Node, and no bundler needed.
    expect(bundle).not.toMatch(/^\s*import[\s{*]|\bimport\s*\(/m);
  });

  it('runs from a Node script like the source in this process', async () => {
    writeFileSync(join(app, 'run.mjs'), NODE_SCRIPT);
    const { stdout } = await run(process.execPath, ['run.mjs'], { cwd: app, env: ENV, maxBuffer: 1 << 26 }).catch((e) => {
      throw new Error(`consumer script failed: ${e.stderr || e.message}`);
    });
    const got = JSON.parse(stdout.trim().split('\n').at(-1) as string) as Outcome;
    expect(got).toEqual({ exports: expected.exports, float: expected.float, int: expected.int, file: expected.file });
  });

  it("type-checks README's examples against the Node and the browser types", async () => {
    const [nodeExample, pageExample] = readmeExamples();
    expect(pageExample).toBeDefined();
    writeFileSync(join(app, 'node-example.ts'), nodeExample);
    writeFileSync(join(app, 'page-example.ts'), pageExample);
    const strict = { target: 'ES2022', strict: true, noEmit: true, skipLibCheck: false };
    const configs = {
      // Node's own resolution: the `node` condition.
      'tsconfig.node.json': { compilerOptions: { ...strict, module: 'NodeNext', moduleResolution: 'NodeNext', types: ['node'], typeRoots: [join(PACKAGE_ROOT, 'node_modules', '@types')] }, files: ['node-example.ts'] },
      // A bundler project for a page: the `browser` condition, and no Node types at all.
      'tsconfig.page.json': { compilerOptions: { ...strict, module: 'ESNext', moduleResolution: 'bundler', customConditions: ['browser'], lib: ['ES2022', 'DOM'], types: [] }, files: ['page-example.ts'] },
    };
    for (const [name, config] of Object.entries(configs)) {
      writeFileSync(join(app, name), JSON.stringify(config));
      await run(process.execPath, [TSC, '-p', name], { cwd: app, env: ENV }).catch((e) => {
        throw new Error(`${name}: ${e.stdout}${e.stderr}`);
      });
    }
  });

  it('bundles into a page that runs on navigator.gpu with the logits of Node', async () => {
    writeFileSync(join(app, 'public', 'model-w4a4.safetensors'), expected.bytes);
    writeFileSync(join(app, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="/main.js"></script>');
    writeFileSync(join(app, 'main.js'), PAGE_SCRIPT);
    const out = join(app, 'dist');
    await build({ root: app, configFile: false, logLevel: 'warn', build: { outDir: out, emptyOutDir: true } });

    const server = await serve(out);
    const profile = mkdtempSync(join(tmpdir(), 'fimaq-chromium-'));
    const browser = await puppeteer.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`], protocolTimeout: 300_000, env: ENV });
    try {
      const page = await browser.newPage();
      page.on('console', (m) => console.log(`[chromium] ${m.text()}`));
      await page.goto(server.url);
      await page.waitForFunction('window.result !== undefined', { timeout: 120_000 });
      const got = (await page.evaluate('window.result')) as Outcome & { error?: string; adapter: unknown };
      expect(got.error).toBeUndefined();
      console.log(`page adapter: ${JSON.stringify(got.adapter)}`);
      expect(got.exports).toEqual(expect.arrayContaining([...expected.exports.filter((n) => !NODE_ONLY.includes(n)), 'createBrowserContext']));
      expect(got.exports.filter((n) => NODE_ONLY.includes(n))).toEqual([]);
      // Chromium's Dawn on SwiftShader computes the very same bits as dawn.node.
      expect(got.float).toEqual(expected.float);
      expect(got.int).toEqual(expected.int);
    } finally {
      await browser.close();
      await server.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
