/**
 * Headless Chromium (Debian's, via puppeteer-core) on a Vite dev server that serves the engine's
 * TypeScript and WGSL, so browser tests run the same source as Node without a build step.
 */
import { existsSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { createServer, type ViteDevServer } from 'vite';
import { PACKAGE_ROOT } from '../../src/runtime/node-gpu.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--headless=new',
  '--enable-unsafe-webgpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

export interface BrowserSession {
  page: Page;
  close(): Promise<void>;
}

export async function openEnginePage(): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y chromium`);
  const server: ViteDevServer = await createServer({
    root: PACKAGE_ROOT,
    configFile: false,
    logLevel: 'error',
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null },
    // jpeg-js is CommonJS: pre-bundled, as a build bundles it.
    optimizeDeps: { noDiscovery: true, include: ['jpeg-js'] },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('vite server has no port');
  const profile = mkdtempSync(join(tmpdir(), 'fimaq-chromium-'));
  let browser: Browser | null = null;
  try {
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`],
      protocolTimeout: 600_000,
      env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
    });
    const page = await browser.newPage();
    page.on('console', (m) => console.log(`[chromium] ${m.text()}`));
    await page.goto(`http://127.0.0.1:${address.port}/test/browser/page.html`);
    await page.waitForFunction('window.fimaqReady === true', { timeout: 120_000 });
    const b = browser;
    return {
      page,
      async close() {
        await b.close();
        await server.close();
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await browser?.close();
    await server.close();
    rmSync(profile, { recursive: true, force: true });
    throw e;
  }
}
