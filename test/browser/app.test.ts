/**
 * The web app end to end: `npm run build:demo`'s static site served by a plain static server,
 * driven by puppeteer-core in Debian's headless Chromium through a tiny FIMA-Q run of the demo
 * model to the result table. The downloaded file must be byte-identical to the one the Node CLI
 * writes with the same settings and seed on the same adapter (SwiftShader in both), also after a
 * reload in the middle of a run and a resume; and a dropped Swin checkpoint (the demo Swin) through
 * the same run. FIMAQ_SCREENSHOT=<file.png> saves the finished page.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import puppeteer, { type Browser, type ElementHandle, type Page } from 'puppeteer-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIdx } from '../../src/data/idx.js';
import { FASHION_MNIST_DIR } from '../../src/data/open.js';
import { PACKAGE_ROOT } from '../../src/runtime/node-gpu.js';
import { CHROMIUM, CHROMIUM_FLAGS } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';
import { type StaticServer, serveFolder } from '../helpers/static-server.js';

/** Fashion-MNIST test images `indices` as PNG files in `dir`. */
function writeTestImages(dir: string, indices: number[]): string[] {
  const images = parseIdx(gunzipSync(readFileSync(join(FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz'))), 'images');
  return indices.map((i) => {
    const png = new PNG({ width: 28, height: 28, colorType: 0 });
    for (let p = 0; p < 784; p++) png.data.set([images.data[i * 784 + p], images.data[i * 784 + p], images.data[i * 784 + p], 255], 4 * p);
    const path = join(dir, `test-${i}.png`);
    writeFileSync(path, PNG.sync.write(png, { colorType: 0 }));
    return path;
  });
}

/** The settings of both runs, as page fields and as CLI options. */
const TINY: Record<string, string> = { iters: '2', k: '1', 'calib-size': '8', 'search-size': '2', batch: '4', seed: '3407' };
const cliArgs = (fields: Record<string, string>, model = 'demo') => ['--model', model, '--preset', 'quick', '--wbits', '4', '--abits', '4', ...Object.entries(fields).flatMap(([k, v]) => [`--${k}`, v])];

describe('web app in headless Chromium', () => {
  let site = '';
  let server: StaticServer;
  let browser: Browser;
  let downloads = '';
  const profile = mkdtempSync(join(tmpdir(), 'fimaq-app-chromium-'));

  beforeAll(async () => {
    site = mkdtempSync(join(tmpdir(), 'fimaq-site-'));
    await build({ configFile: join(PACKAGE_ROOT, 'demo', 'vite.config.ts'), logLevel: 'error', build: { outDir: site, emptyOutDir: true } });
    server = await serveFolder(site);
    downloads = mkdtempSync(join(tmpdir(), 'fimaq-downloads-'));
    browser = await puppeteer.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`], protocolTimeout: 900_000, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    for (const d of [site, downloads, profile]) if (d) rmSync(d, { recursive: true, force: true });
  });

  async function openApp(): Promise<Page> {
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.log(`[page] ${(e as Error).message}`));
    const cdp = await page.createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
    await page.goto(`${server.url}/index.html`);
    await page.waitForFunction(() => /Ready/.test(document.getElementById('status')?.textContent ?? ''), { timeout: 120_000 });
    return page;
  }

  /** Clicks a button once it is shown and enabled (the page enables its buttons as the worker reports). */
  async function press(page: Page, selector: string): Promise<void> {
    await page.waitForSelector(`${selector}:not([disabled])`, { visible: true, timeout: 120_000 });
    await page.click(selector);
  }

  async function fill(page: Page, fields: Record<string, string>, evalImages: string): Promise<void> {
    for (const [id, value] of Object.entries({ ...fields, 'eval-images': evalImages })) {
      await page.$eval(`#${id}`, (el, v) => ((el as HTMLInputElement).value = v), value);
    }
    await page.select('#preset', 'quick');
    await page.select('#method', 'fimaq');
  }

  async function waitForResult(page: Page): Promise<void> {
    await page.waitForFunction(() => !document.getElementById('results-section')?.hidden || document.querySelector('.warning'), { timeout: 900_000 });
    expect(await page.$$eval('.warning', (els) => els.map((e) => e.textContent))).toEqual([]);
  }

  async function download(page: Page): Promise<Uint8Array> {
    const name = await page.$eval('#download', (a) => (a as HTMLAnchorElement).download);
    rmSync(join(downloads, name), { force: true });
    await page.click('#download');
    const path = join(downloads, name);
    for (let i = 0; i < 600 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 100));
    expect(readdirSync(downloads)).toContain(name);
    return new Uint8Array(readFileSync(path));
  }

  it('quantizes the demo model at W4A4 and downloads the same bytes as the CLI', async () => {
    const page = await openApp();
    await fill(page, TINY, '40');
    await press(page, '#start');
    await waitForResult(page);
    const values = await page.$$eval('#top1-table tr[data-value]', (rows) => rows.map((r) => Number((r as HTMLElement).dataset.value)));
    expect(await page.$$eval('#units-table tr', (rows) => rows.length)).toBe(7);
    const browserFile = await download(page);

    // The Fisher heat maps of a block, and the integer pipeline on two dropped test images.
    await page.$eval('#fim-images', (el) => ((el as HTMLInputElement).value = '16'));
    await press(page, '#fim-draw');
    await page.waitForFunction(() => !(document.getElementById('fim-canvas') as HTMLCanvasElement).hidden, { timeout: 300_000 });
    expect(await page.$eval('#fim-errors', (el) => el.textContent)).toMatch(/DPLR \d\.\d{3}/);
    const images = writeTestImages(mkdtempSync(join(tmpdir(), 'fimaq-app-images-')), [0, 1]);
    const input = (await page.$('input#infer-files')) as ElementHandle<HTMLInputElement>;
    await input.uploadFile(...images);
    await page.waitForFunction(() => (document.getElementById('infer-table') as HTMLTableElement).rows.length === 3, { timeout: 120_000 });
    expect(await page.$eval('#infer-time', (el) => el.textContent)).toMatch(/ms per image/);
    if (process.env.FIMAQ_SCREENSHOT) await page.screenshot({ path: process.env.FIMAQ_SCREENSHOT as `${string}.png`, fullPage: true });
    await page.close();

    const out = join(mkdtempSync(join(tmpdir(), 'fimaq-app-cli-')), 'cli.safetensors');
    const cli = await runCli(['quantize', ...cliArgs(TINY), '--out', out, '--eval', 'fashion-mnist:test', '--limit', '40', '--json']);
    expect(cli.code, cli.stderr).toBe(0);
    const summary = JSON.parse(cli.stdout);
    // Same arithmetic on the same adapter: the page's three top-1 values are the CLI's.
    expect(values).toEqual([summary.eval.float, summary.eval.calib, summary.eval.quantized]);
    expect(browserFile).toEqual(new Uint8Array(readFileSync(out)));
  }, 900_000);

  it('takes a dropped Swin checkpoint through a run, the Fisher picture and the integer pipeline, with the CLI\'s bytes', async () => {
    const page = await openApp();
    const swin = join(PACKAGE_ROOT, 'demo', 'fashion-swin');
    const files = (await page.$('input#model-files')) as ElementHandle<HTMLInputElement>;
    await files.uploadFile(join(swin, 'config.json'), join(swin, 'model.safetensors'));
    await page.waitForFunction(() => /\(swin\)/.test(document.getElementById('model-info')?.textContent ?? ''), { timeout: 120_000 });
    const modelInfo = await page.$eval('#model-info', (el) => el.textContent);
    expect(modelInfo).toMatch(/stage 1patch merging, then 2 blocks on 7x7 tokens/);
    expect(modelInfo).toMatch(/GPU memory[\d.]+ MiB at the peak of a fimaq run on \d+ images \((calibration|reconstruction), /);
    expect(await page.$$eval('#fim-block option', (o) => o.length)).toBe(4);
    await fill(page, TINY, '0');
    await press(page, '#start');
    await waitForResult(page);
    const units = await page.$$eval('#units-table tr', (rows) => rows.map((r) => r.textContent ?? ''));
    expect(units.some((u) => u.includes('layers.1.downsample'))).toBe(true);
    const browserFile = await download(page);
    await page.$eval('#fim-images', (el) => ((el as HTMLInputElement).value = '8'));
    await press(page, '#fim-draw');
    await page.waitForFunction(() => !(document.getElementById('fim-canvas') as HTMLCanvasElement).hidden, { timeout: 300_000 });
    const images = writeTestImages(mkdtempSync(join(tmpdir(), 'fimaq-app-images-')), [0, 1]);
    const input = (await page.$('input#infer-files')) as ElementHandle<HTMLInputElement>;
    await input.uploadFile(...images);
    await page.waitForFunction(() => (document.getElementById('infer-table') as HTMLTableElement).rows.length === 3, { timeout: 120_000 });
    await page.close();

    const out = join(mkdtempSync(join(tmpdir(), 'fimaq-app-cli-')), 'cli.safetensors');
    const cli = await runCli(['quantize', ...cliArgs(TINY, swin), '--calib', 'fashion-mnist:train', '--out', out]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(browserFile).toEqual(new Uint8Array(readFileSync(out)));
  }, 900_000);

  it('a run reloaded in the middle and resumed downloads the same bytes as the CLI', async () => {
    const fields = { ...TINY, iters: '6' };
    let page = await openApp();
    await fill(page, fields, '0');
    await press(page, '#start');
    // Reload once two units are done, so the checkpoint holds finished units.
    await page.waitForFunction(() => /Reconstructing blocks\.1/.test(document.getElementById('status')?.textContent ?? ''), { timeout: 600_000 });
    await page.reload();
    await page.waitForFunction(() => !document.getElementById('resume')?.hidden, { timeout: 120_000 });
    await press(page, '#resume');
    await waitForResult(page);
    // It continued after the units finished before the reload, rather than starting over.
    expect(await page.$eval('#run-notes', (el) => el.textContent)).toMatch(/after [2-5] finished units/);
    const resumedFile = await download(page);
    await page.close();
    page = null as unknown as Page;

    const out = join(mkdtempSync(join(tmpdir(), 'fimaq-app-cli-')), 'cli.safetensors');
    const cli = await runCli(['quantize', ...cliArgs(fields), '--out', out]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(resumedFile).toEqual(new Uint8Array(readFileSync(out)));
  }, 900_000);
});
