/**
 * Measuring functions for the onnxruntime peers of the benchmark, importable by a combined
 * benchmark:
 * - `measureOrtNode(model, batch, repeats)`: onnxruntime-node, CPU execution provider;
 * - `OrtWebPage.open()` then `measureOrtWeb(page, model, batch, repeats)`: onnxruntime-web with the
 *   WebGPU execution provider inside headless Chromium (Debian's, via puppeteer-core).
 *
 * The page is served by a small HTTP server: the onnxruntime-web bundle straight from
 * node_modules/onnxruntime-web/dist (so nothing is transformed) and the model bytes from memory.
 * Both peers time `session.run` end to end: the input is uploaded and the logits read back on
 * every run. Images are fixed pseudo-random values; the first `warmup` runs (shader compilation,
 * allocation) are not timed.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { vitToOnnx, type OnnxExportOptions } from '../src/io/onnx-export.js';
import type { VitCheckpoint } from '../src/model/checkpoint.js';
import { PACKAGE_ROOT } from '../src/runtime/node-gpu.js';
import { uniformTensor } from '../src/util/prng.js';
import { CHROMIUM, CHROMIUM_FLAGS } from '../test/helpers/browser.js';

export type PeerPrecision = 'float32' | 'int4';

/** One exported ONNX model of a checkpoint. */
export interface PeerModel {
  /** The benchmark's model name, e.g. 'demo (fashion-vit)'. */
  name: string;
  precision: PeerPrecision;
  bytes: Uint8Array;
  inChans: number;
  imgSize: number;
}

export interface Measurement {
  /** The execution provider asked for ('cpu', 'webgpu'). */
  ep: string;
  /** Where the nodes ran, as far as onnxruntime reports it (see `OrtWebPage.measure`). */
  placement: string;
  batch: number;
  warmup: number;
  times_ms: number[];
  median_ms: number;
  images_per_second: number;
}

/** One row of bench/results/peers-<adapter>.json. */
export interface PeerRow {
  model: string;
  /** 'onnxruntime-node' or 'onnxruntime-web'. */
  engine: string;
  precision: string;
  batch: number;
  median_ms: number;
  images_per_second: number;
  model_bytes: number;
  execution_provider: string;
  placement: string;
  warmup: number;
  times_ms: number[];
}

/** Options of the int4 export the peers run: MatMulNBits, blocks of 32, per-block zero points, float32 compute. */
export const PEER_INT4: OnnxExportOptions = { weights: 'int4', blockSize: 32, symmetric: false, accuracyLevel: 0 };

/** The float32 and int4 (MatMulNBits) ONNX exports of a checkpoint. */
export function peerModels(name: string, ckpt: VitCheckpoint): PeerModel[] {
  const { inChans, imgSize } = ckpt.config;
  return [
    { name, precision: 'float32', bytes: vitToOnnx(ckpt), inChans, imgSize },
    { name, precision: 'int4', bytes: vitToOnnx(ckpt, PEER_INT4), inChans, imgSize },
  ];
}

export function median(times: number[]): number {
  const s = [...times].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function summarize(ep: string, placement: string, batch: number, warmup: number, times: number[]): Measurement {
  const med = median(times);
  return { ep, placement, batch, warmup, times_ms: times, median_ms: med, images_per_second: (1000 * batch) / med };
}

/** The CPU onnxruntime-node runs on. */
export function nodeCpuInfo(): { model: string; cores: number } {
  const list = cpus();
  return { model: list[0]?.model.trim() ?? 'unknown', cores: list.length };
}

// ---------------------------------------------------------------------------------------------
// onnxruntime-node

/** onnxruntime-node, CPU execution provider, default threading (one intra-op thread per core). */
export async function measureOrtNode(model: PeerModel, batch: number, repeats: number, warmup = 1): Promise<Measurement> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(model.bytes, { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
  try {
    const shape = [batch, model.inChans, model.imgSize, model.imgSize];
    const images = new ort.Tensor('float32', uniformTensor(1, 0, shape.reduce((a, b) => a * b, 1), 0, 1), shape);
    for (let i = 0; i < warmup; i++) await session.run({ images });
    const times: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      const out = await session.run({ images });
      times.push(performance.now() - t0);
      if (out.logits!.dims[0] !== batch) throw new Error(`onnxruntime-node returned logits ${JSON.stringify(out.logits!.dims)}`);
    }
    return summarize('cpu', 'CPUExecutionProvider', batch, warmup, times);
  } finally {
    await session.release();
  }
}

// ---------------------------------------------------------------------------------------------
// onnxruntime-web in headless Chromium

const ORT_DIST = join(PACKAGE_ROOT, 'node_modules', 'onnxruntime-web', 'dist');
const ORT_BUNDLE = 'ort.webgpu.bundle.min.mjs';

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>fimaq onnxruntime-web peer</title></head><body>
<script type="module">
  import * as ort from '/ort/${ORT_BUNDLE}';
  window.ort = ort;
  window.peerReady = true;
</script>
</body></html>`;

const MIME: Record<string, string> = { '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm', '.map': 'application/json' };

/** Adapter information as WebGPU reports it (GPUAdapterInfo). */
export interface WebAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

interface PageResult {
  times: number[];
  dims: number[];
  adapter: WebAdapterInfo | null;
}

/** Headless Chromium with onnxruntime-web loaded; one page runs every measurement. */
export class OrtWebPage {
  private nextId = 0;
  private log: string[] = [];

  private constructor(
    private readonly server: Server,
    private readonly models: Map<string, Uint8Array>,
    private readonly browser: Browser,
    readonly page: Page,
    private readonly profile: string,
    private readonly verbose: boolean,
  ) {}

  /** Starts the server and the browser. `verbose` echoes the page's console (onnxruntime's warnings). */
  static async open(verbose = true): Promise<OrtWebPage> {
    const models = new Map<string, Uint8Array>();
    const server = createServer((req, res) => {
      // Cross-origin isolation lets onnxruntime-web use its threaded wasm for the CPU parts.
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
      const url = (req.url ?? '/').split('?')[0]!;
      try {
        if (url === '/favicon.ico') {
          res.writeHead(204).end();
        } else if (url === '/' || url === '/index.html') {
          res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
        } else if (url.startsWith('/ort/') && /^[\w.-]+$/.test(url.slice(5))) {
          const body = readFileSync(join(ORT_DIST, url.slice(5)));
          res.writeHead(200, { 'content-type': MIME[extname(url)] ?? 'application/octet-stream' }).end(body);
        } else if (url.startsWith('/model/') && models.has(url.slice(7))) {
          res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(models.get(url.slice(7)));
        } else {
          res.writeHead(404).end();
        }
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const profile = mkdtempSync(join(tmpdir(), 'fimaq-ort-chromium-'));
    let browser: Browser | null = null;
    try {
      browser = await puppeteer.launch({
        executablePath: CHROMIUM,
        args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`],
        protocolTimeout: 4 * 3600_000,
        env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
      });
      const page = await browser.newPage();
      const self = new OrtWebPage(server, models, browser, page, profile, verbose);
      page.on('console', (m) => self.onConsole(m.text()));
      page.on('pageerror', (e) => self.onConsole(`page error: ${(e as Error).message}`));
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForFunction('window.peerReady === true', { timeout: 120_000 });
      return self;
    } catch (e) {
      await browser?.close();
      server.close();
      rmSync(profile, { recursive: true, force: true });
      throw e;
    }
  }

  private onConsole(text: string): void {
    this.log.push(text);
    // onnxruntime's verbose and info lines (asked for to learn the node placement) stay in the log.
    if (this.verbose && !/\[[VI]:onnxruntime/.test(text)) console.log(`[chromium] ${text}`);
  }

  /** The adapter navigator.gpu gives this page (requested without options, as onnxruntime-web does). */
  async adapter(): Promise<WebAdapterInfo | null> {
    return this.page.evaluate(async () => {
      const a = await navigator.gpu?.requestAdapter();
      if (!a) return null;
      const i = a.info;
      return { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description };
    });
  }

  /**
   * Creates a session with the WebGPU EP (falling back to wasm for nodes it lacks, as onnxruntime
   * does), runs `warmup` untimed and `repeats` timed runs of a batch, and releases the session.
   * The session is created with verbose logging, so onnxruntime lists the nodes each EP got.
   */
  async measure(model: PeerModel, batch: number, repeats: number, warmup = 1, ep = 'webgpu'): Promise<Measurement> {
    const id = `m${this.nextId++}`;
    this.models.set(id, model.bytes);
    this.log = [];
    try {
      const shape = [batch, model.inChans, model.imgSize, model.imgSize];
      const r = (await this.page.evaluate(
        async (url: string, epName: string, dims: number[], nWarm: number, nRep: number) => {
          const ort = (window as unknown as { ort: typeof import('onnxruntime-web') }).ort;
          const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
          const session = await ort.InferenceSession.create(bytes, { executionProviders: [epName], graphOptimizationLevel: 'all', logSeverityLevel: 0, logVerbosityLevel: 0 });
          try {
            const count = dims.reduce((a, b) => a * b, 1);
            const data = new Float32Array(count);
            let s = 12345;
            for (let i = 0; i < count; i++) {
              s = (Math.imul(s, 1103515245) + 12345) >>> 0;
              data[i] = (s >>> 8) / 16777216;
            }
            const images = new ort.Tensor('float32', data, dims);
            // Verbose logging is for the node placement at creation only.
            const quiet = { logSeverityLevel: 3 as const };
            let out = null;
            for (let i = 0; i < nWarm; i++) {
              const t0 = performance.now();
              out = await session.run({ images }, quiet);
              console.log(`  warm-up ${i + 1}/${nWarm}: ${(performance.now() - t0).toFixed(1)} ms`);
            }
            const times: number[] = [];
            for (let i = 0; i < nRep; i++) {
              const t0 = performance.now();
              out = await session.run({ images }, quiet);
              times.push(performance.now() - t0);
              console.log(`  run ${i + 1}/${nRep}: ${times[i]!.toFixed(1)} ms`);
            }
            let adapter = null;
            if (epName === 'webgpu') {
              const device = (await ort.env.webgpu.device) as GPUDevice & { adapterInfo?: GPUAdapterInfo };
              const info = device.adapterInfo ?? (ort.env.webgpu.adapter as GPUAdapter | undefined)?.info;
              if (info) adapter = { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description };
            }
            return { times, dims: [...out!.logits!.dims], adapter };
          } finally {
            await session.release();
          }
        },
        `/model/${id}`, ep, shape, warmup, repeats,
      )) as PageResult;
      if (r.dims[0] !== batch) throw new Error(`onnxruntime-web returned logits ${JSON.stringify(r.dims)}`);
      const placement = ep === 'webgpu' ? nodePlacement(this.log) : `${ep} EP`;
      if (r.adapter) this.lastAdapter = r.adapter;
      return summarize(ep, placement, batch, warmup, r.times);
    } finally {
      this.models.delete(id);
    }
  }

  /** The adapter onnxruntime-web's WebGPU device came from, once a WebGPU session has run. */
  lastAdapter: WebAdapterInfo | null = null;

  async close(): Promise<void> {
    await this.browser.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.profile, { recursive: true, force: true });
  }
}

/**
 * Summarizes onnxruntime's verbose node-assignment log ("Node(s) placed on [XExecutionProvider].
 * Number of nodes: n", then one "  OpType (name)" line per node), e.g.
 * "WebGpuExecutionProvider 132 nodes; CPUExecutionProvider 1 node (Shape)".
 */
export function nodePlacement(log: string[]): string {
  const byEp = new Map<string, { count: number; ops: Map<string, number> }>();
  let current: { count: number; ops: Map<string, number> } | null = null;
  for (const line of log) {
    if (!line.includes('VerifyEachNodeIsAssignedToAnEp')) continue;
    const head = /placed on \[(\w+)\]\. Number of nodes: (\d+)/.exec(line);
    if (head) {
      current = { count: Number(head[2]), ops: new Map() };
      byEp.set(head[1]!, current);
      continue;
    }
    const node = /VerifyEachNodeIsAssignedToAnEp\]\s+(\w+) \(/.exec(line);
    if (node && current) current.ops.set(node[1]!, (current.ops.get(node[1]!) ?? 0) + 1);
  }
  if (byEp.size === 0) return 'unknown (onnxruntime printed no node placement)';
  return [...byEp]
    .map(([ep, { count, ops }]) => {
      const list = ep.startsWith('CPU') ? ` (${[...ops].map(([op, n]) => (n > 1 ? `${op} x${n}` : op)).join(', ')})` : '';
      return `${ep} ${count} node${count === 1 ? '' : 's'}${list}`;
    })
    .join('; ');
}

/** onnxruntime-web, WebGPU execution provider, in headless Chromium. */
export function measureOrtWeb(page: OrtWebPage, model: PeerModel, batch: number, repeats: number, warmup = 1): Promise<Measurement> {
  return page.measure(model, batch, repeats, warmup, 'webgpu');
}
