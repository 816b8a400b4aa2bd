/**
 * The web app against the Node engine, in the same run: the quick-preset FIMA-Q of the demo model
 * at W4A4 (seed 3407, the app's defaults and `fimaq quantize --model demo --preset quick`'s)
 *   - in headless Chromium: the built app (`npm run build:demo`) on a static server, driven as a
 *     person would, its file downloaded;
 *   - in Node: the same pipeline call the CLI makes.
 * It records seconds per unit, the three top-1 values, whether the two files are byte-identical,
 * and the share of GPU time per kernel in a shorter profiled run of each (timestamp queries where
 * the adapter has them), with the adapters. Writes bench/results/browser-<adapter>.json and a
 * markdown table (bench/results/browser-<adapter>.md) that the README quotes.
 *
 * Run: npm run bench:browser [-- --eval-images 10000] [--profile-iters 20] [--screenshot docs/web-app.png]
 *      (--iters N shortens the run to try the benchmark out)
 * On SwiftShader the seconds describe this CPU, not a GPU: compare the two engines by their ratio.
 */
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import { build } from 'vite';
import { openDataset } from '../src/data/open.js';
import { loadCheckpoint } from '../src/io/checkpoint-node.js';
import { MemoryStore } from '../src/io/run-store.js';
import { compareTop1 } from '../src/pipeline/compare.js';
import { type QuantizeRequest, calibrationImages, quantizeModel } from '../src/pipeline/quantize.js';
import { DEFAULT_FISHER } from '../src/recon/losses.js';
import { PRESETS } from '../src/recon/settings.js';
import type { AdapterSummary } from '../src/runtime/context.js';
import type { KernelTiming } from '../src/runtime/profiler.js';
import { PACKAGE_ROOT, createNodeContext } from '../src/runtime/node-gpu.js';
import { configureVulkanEnv } from '../src/runtime/vulkan-env.js';
import { CHROMIUM, CHROMIUM_FLAGS, openEnginePage } from '../test/helpers/browser.js';
import { serveFolder } from '../test/helpers/static-server.js';

configureVulkanEnv('auto');
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const evalImages = Number(arg('eval-images', '10000'));
/** The quick preset's 300 by default; fewer only to try the benchmark out. */
const iters = Number(arg('iters', String(PRESETS.quick.iters)));
const profileIters = Number(arg('profile-iters', '20'));
const screenshot = arg('screenshot', '');
const VERSION: string = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')).version;

const ckpt = await loadCheckpoint(join(PACKAGE_ROOT, 'demo', 'fashion-vit'));
const cfg = ckpt.config;
const labels = (required: boolean) => ({ numClasses: cfg.numClasses, labelNames: cfg.labelNames, labels: required ? ('required' as const) : ('ignore' as const) });
const train = await openDataset('fashion-mnist:train', cfg.preprocess, labels(false));
const test = await openDataset('fashion-mnist:test', cfg.preprocess, labels(true));
const calibration = await calibrationImages(train, PRESETS.quick.calibSize, 3407);
const request = (iters: number): QuantizeRequest => ({
  checkpoint: ckpt, calibration, method: 'fimaq', wbits: 4, abits: 4, seed: 3407,
  settings: { ...PRESETS.quick, iters }, preset: 'quick', fisher: DEFAULT_FISHER, toolVersion: VERSION,
});

interface EngineRun {
  adapter: AdapterSummary;
  seconds: number;
  units: { unit: string; seconds: number }[];
  top1: { float: number; calib: number | null; quantized: number; images: number };
  file_sha256: string;
}

const sha256 = (bytes: Uint8Array) => execSync('sha256sum', { input: bytes }).toString().split(' ')[0];

/** Kernel shares of GPU time, largest first. */
function shares(timings: KernelTiming[]): Record<string, number> {
  const total = timings.reduce((a, t) => a + t.milliseconds, 0);
  return Object.fromEntries([...timings].sort((a, b) => b.milliseconds - a.milliseconds).map((t) => [t.name, t.milliseconds / total]));
}

// ---- Chromium: the built app ----
const site = mkdtempSync(join(tmpdir(), 'fimaq-bench-site-'));
await build({ configFile: join(PACKAGE_ROOT, 'demo', 'vite.config.ts'), logLevel: 'error', build: { outDir: site, emptyOutDir: true } });
const server = await serveFolder(site);
const downloads = mkdtempSync(join(tmpdir(), 'fimaq-bench-downloads-'));
const profile = mkdtempSync(join(tmpdir(), 'fimaq-bench-chromium-'));
const browser = await puppeteer.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`], protocolTimeout: 10_800_000, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
const page = await browser.newPage();
await page.setViewport({ width: 1000, height: 900 });
await (await page.createCDPSession()).send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
await page.goto(`${server.url}/index.html`);
await page.waitForFunction(() => /Ready/.test(document.getElementById('status')?.textContent ?? ''), { timeout: 120_000 });
await page.$eval('#eval-images', (el, v) => ((el as HTMLInputElement).value = v), String(evalImages));
if (iters !== PRESETS.quick.iters) await page.$eval('#iters', (el, v) => ((el as HTMLInputElement).value = v), String(iters));
process.stderr.write(`bench:browser: the app runs quick-preset FIMA-Q W4A4 and evaluates ${evalImages} test images...\n`);
await page.click('#start');
await page.waitForFunction(() => !document.getElementById('results-section')?.hidden || document.querySelector('.warning'), { timeout: 0, polling: 1000 });
const warnings = await page.$$eval('.warning', (els) => els.map((e) => e.textContent));
if (warnings.length > 0) throw new Error(`the app stopped: ${warnings.join('; ')}`);
const appValues = await page.$$eval('#top1-table tr[data-value]', (rows) => rows.map((r) => Number((r as HTMLElement).dataset.value)));
const appUnits = await page.$$eval('#units-table tr', (rows) => rows.slice(1).map((r) => ({ unit: r.cells[0].textContent ?? '', seconds: Number(r.cells[3].textContent) })));
const appSeconds = await page.$eval('#result-note', (el) => Number((el as HTMLElement).dataset.seconds));
const appAdapter: AdapterSummary = JSON.parse(await page.$eval('#adapter', (el) => (el as HTMLElement).dataset.adapter ?? '{}'));
const fileName = await page.$eval('#download', (a) => (a as HTMLAnchorElement).download);
await page.click('#download');
for (let i = 0; i < 600 && !existsSync(join(downloads, fileName)); i++) await new Promise((r) => setTimeout(r, 100));
const appFile = new Uint8Array(readFileSync(join(downloads, fileName)));
if (screenshot) await page.screenshot({ path: screenshot as `${string}.png`, fullPage: true });
await browser.close();
await server.close();
for (const d of [site, downloads, profile]) rmSync(d, { recursive: true, force: true });

// ---- Node: the same pipeline call the CLI makes ----
process.stderr.write('bench:browser: the same run in Node...\n');
const ctx = await createNodeContext();
const started = performance.now();
const nodeRun = await quantizeModel(ctx, request(iters), { store: new MemoryStore() });
const comparison = await compareTop1(ctx, { float: ckpt, calibrated: nodeRun.calibrated, quantized: nodeRun.quantized }, test, { limit: evalImages });
// As the app's: quantization and the evaluation of the three models.
const nodeSeconds = (performance.now() - started) / 1000;
const nodeAdapter = ctx.adapter;
await ctx.dispose();

// ---- per-kernel shares: a shorter profiled run of each ----
process.stderr.write(`bench:browser: profiled runs of ${profileIters} iterations per unit...\n`);
const profiled = await createNodeContext({ profile: true });
await profiled.kernelTimings();
await quantizeModel(profiled, request(profileIters), { store: new MemoryStore() });
const nodeKernels = { source: profiled.timingSource, shares: shares(await profiled.kernelTimings()) };
await profiled.dispose();
const session = await openEnginePage();
const browserKernels = await session.page.evaluate(
  async (pixels: number[], iters: number, version: string) => {
    const lib = (window as unknown as { fimaqLib: typeof import('../src/browser/index.js') }).fimaqLib;
    const bytes = async (path: string) => new Uint8Array(await (await fetch(path)).arrayBuffer());
    // The whole run's shares, calibration included, as in the Node run.
    const checkpoint = lib.checkpointFromBytes(new TextDecoder().decode(await bytes('/demo/fashion-vit/config.json')), await bytes('/demo/fashion-vit/model.safetensors'), 'demo');
    const c = await lib.createBrowserContext({ profile: true });
    await c.kernelTimings();
    const count = pixels.length / 784;
    const calibrationImages = { pixels: new Float32Array(pixels), count, name: 'fashion-mnist:train', selection: 'seeded' as const, indices: Array.from({ length: count }, (_, i) => i) };
    await lib.quantizeModel(c, { checkpoint, calibration: calibrationImages, method: 'fimaq', wbits: 4, abits: 4, seed: 3407, settings: { ...lib.PRESETS.quick, iters }, preset: 'quick', fisher: lib.DEFAULT_FISHER, toolVersion: version }, { store: new lib.MemoryStore() });
    const timings = await c.kernelTimings();
    const source = c.timingSource;
    await c.dispose();
    return { source, timings };
  },
  Array.from(calibration.pixels), profileIters, VERSION,
);
await session.close();

// ---- the record ----
const chromium: EngineRun = {
  adapter: { ...appAdapter, backend: 'browser (the app, in a Web Worker)' },
  seconds: appSeconds,
  units: appUnits,
  top1: { float: appValues[0], calib: appValues[1], quantized: appValues[2], images: evalImages },
  file_sha256: sha256(appFile),
};
const node: EngineRun = {
  adapter: nodeAdapter,
  seconds: nodeSeconds,
  units: nodeRun.reports.map((r) => ({ unit: r.unit, seconds: r.seconds })),
  top1: { float: comparison.float, calib: comparison.calib, quantized: comparison.quantized, images: comparison.count },
  file_sha256: sha256(nodeRun.bytes),
};
const identical = chromium.file_sha256 === node.file_sha256;
const commit = execSync('git rev-parse --short HEAD', { cwd: PACKAGE_ROOT }).toString().trim();
const record = {
  bench: 'browser',
  command: `npm run bench:browser -- --eval-images ${evalImages} --profile-iters ${profileIters}${iters !== PRESETS.quick.iters ? ` --iters ${iters}` : ''}`,
  commit,
  date: new Date().toISOString(),
  run: `quick-preset FIMA-Q of the demo model, W4A4, seed 3407, 256 calibration images (search on 8), ${iters} iterations per unit`,
  chromium,
  node,
  files_byte_identical: identical,
  seconds_ratio_chromium_over_node: chromium.seconds / node.seconds,
  kernel_shares: { chromium: { source: browserKernels.source, shares: shares(browserKernels.timings) }, node: nodeKernels, iters: profileIters },
};
const pct = (v: number | null) => (v === null ? '—' : `${(100 * v).toFixed(2)} %`);
const top5 = (s: Record<string, number>) => Object.entries(s).slice(0, 5).map(([k, v]) => `${k} ${(100 * v).toFixed(1)} %`).join(', ');
const table = [
  `| engine | whole run (s) | ${chromium.units.map((u) => `${u.unit} (s)`).join(' | ')} | float | calib W4A4 | FIMA-Q W4A4 |`,
  `|---|---:|${chromium.units.map(() => '---:').join('|')}|---:|---:|---:|`,
  `| Chromium (the app, SwiftShader) | ${chromium.seconds.toFixed(0)} | ${chromium.units.map((u) => u.seconds.toFixed(1)).join(' | ')} | ${pct(chromium.top1.float)} | ${pct(chromium.top1.calib)} | ${pct(chromium.top1.quantized)} |`,
  `| Node (Dawn, SwiftShader) | ${node.seconds.toFixed(0)} | ${node.units.map((u) => u.seconds.toFixed(1)).join(' | ')} | ${pct(node.top1.float)} | ${pct(node.top1.calib)} | ${pct(node.top1.quantized)} |`,
  '',
  `Files byte-identical: ${identical ? 'yes' : 'no'} (SHA-256 ${chromium.file_sha256.slice(0, 16)}…${identical ? '' : ` vs ${node.file_sha256.slice(0, 16)}…`}).`,
  `Per-unit reconstruction seconds, Chromium / Node: ${chromium.units.map((u, i) => (u.seconds / node.units[i].seconds).toFixed(2)).join(', ')}.`,
  `Largest GPU-time shares (${profileIters} iterations per unit, ${browserKernels.source} / ${nodeKernels.source}): Chromium ${top5(record.kernel_shares.chromium.shares)}; Node ${top5(nodeKernels.shares)}.`,
  `Whole run: quantization and the evaluation of the float, calibration-only and FIMA-Q models on ${evalImages} test images; Chromium / Node ${(chromium.seconds / node.seconds).toFixed(2)}.`,
  `Commit ${commit}, ${record.date.slice(0, 10)}; adapters: Chromium ${chromium.adapter.vendor} ${chromium.adapter.architecture}${chromium.adapter.fallback ? ' (fallback)' : ''}, Node ${nodeAdapter.vendor} ${nodeAdapter.architecture} (${nodeAdapter.description}).`,
].join('\n');
const name = `browser-${nodeAdapter.architecture || 'unknown'}`;
mkdirSync(join(PACKAGE_ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(PACKAGE_ROOT, 'bench', 'results', `${name}.json`), `${JSON.stringify(record, null, 1)}\n`);
writeFileSync(join(PACKAGE_ROOT, 'bench', 'results', `${name}.md`), `${table}\n`);
process.stdout.write(`${table}\n`);
