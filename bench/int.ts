/**
 * The [E5] comparison: throughput and latency of our float pipeline, our integer pipeline at W4A4
 * and W3A3 (and the fake-quant simulation at W4A4), in Node (Dawn) and in headless Chromium
 * (navigator.gpu), next to onnxruntime-web (WebGPU EP, the same Chromium) and onnxruntime-node
 * (CPU EP) on the same two models, float32 and int4 weight-only (MatMulNBits). Model file sizes
 * in the same table.
 *
 * Models: the demo ViT (quantized with min/max rtn on 32 Fashion-MNIST training images) and a
 * random-weight deit_small_patch16_224-shaped model (seed 7, as bench/peers.ts; quantized with rtn
 * on 4 seeded random images). Speed does not depend on the quantizer values, so rtn suffices.
 *
 * Every time is a whole application-level forward: images uploaded, logits read back, after one
 * untimed warm-up. images/s = batch / median. Writes bench/results/int-<adapter>.json and prints
 * a markdown table. Run: npm run bench:int [-- --quick]. --quick skips deit_small at batch 32 in
 * the browser engines (on SwiftShader one such forward takes 10-20 minutes); --demo-only leaves
 * out deit_small.
 *
 * On SwiftShader the numbers describe this CPU, not a GPU: read the ratios, which compare engines
 * measured in the same run on the same adapter.
 */
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDataset } from '../src/data/open.js';
import type { Classifier } from '../src/model/classifier.js';
import { IntVit } from '../src/inference/int-vit.js';
import { timeForwardMs } from '../src/inference/time-forward.js';
import { serializeQuantizedModel } from '../src/io/quantized-file.js';
import { loadVitCheckpoint } from '../src/io/checkpoint-node.js';
import { checkpointToSafetensors } from '../src/io/checkpoint-file.js';
import { type VitCheckpoint } from '../src/model/checkpoint.js';
import { VitModel } from '../src/model/vit.js';
import { calibrate } from '../src/quant/calibrate.js';
import { seededIndices } from '../src/quant/calibration-set.js';
import { FakeQuantModel } from '../src/quant/fake-quant-model.js';
import type { QuantizedVit } from '../src/quant/quantized-model.js';
import type { AdapterSummary, GpuContext } from '../src/runtime/context.js';
import { PACKAGE_ROOT, createNodeContext } from '../src/runtime/node-gpu.js';
import { configureVulkanEnv } from '../src/runtime/vulkan-env.js';
import { uniformTensor } from '../src/util/prng.js';
import { openEnginePage } from '../test/helpers/browser.js';
import { randomVitCheckpoint } from '../test/helpers/random-vit.js';
import { OrtWebPage, measureOrtNode, measureOrtWeb, median, nodeCpuInfo, peerModels, type WebAdapterInfo } from './ort-peers.js';

const quick = process.argv.includes('--quick');
const demoOnly = process.argv.includes('--demo-only');
configureVulkanEnv('auto');

interface Row {
  model: string;
  engine: string;
  precision: string;
  batch: number;
  median_ms: number;
  images_per_second: number;
  model_bytes: number;
  times_ms: number[];
}

interface BenchModel {
  name: string;
  float: VitCheckpoint;
  floatBytes: Uint8Array;
  quantized: Record<'W4A4' | 'W3A3', { model: QuantizedVit; bytes: Uint8Array }>;
}

const repeatsFor = (model: string, batch: number) => (model.startsWith('demo') ? (batch === 1 ? (quick ? 5 : 20) : quick ? 3 : 10) : batch === 1 ? (quick ? 2 : 5) : quick ? 1 : 2);
const skipped = (model: string, batch: number, browser: boolean) => quick && browser && !model.startsWith('demo') && batch === 32;

async function quantizeRtn(ctx: GpuContext, ckpt: VitCheckpoint, pixels: Float32Array, count: number, bits: number): Promise<{ model: QuantizedVit; bytes: Uint8Array }> {
  const r = await calibrate(ctx, ckpt, pixels, count, { method: 'rtn', wbits: bits, abits: bits });
  const info = { method: 'rtn', wbits: bits, abits: bits, seed: 0, calibSize: count, calibData: 'bench', toolVersion: 'bench' };
  const model: QuantizedVit = { ...r.quantized, configText: ckpt.configText, info };
  return { model, bytes: serializeQuantizedModel(model) };
}

async function prepareModels(): Promise<BenchModel[]> {
  const ctx = await createNodeContext({});
  try {
    const demo = await loadVitCheckpoint(join(PACKAGE_ROOT, 'demo', 'fashion-vit'), 'the benchmark');
    const train = await openDataset('fashion-mnist:train', demo.config.preprocess);
    const demoImages = (await train.batch(seededIndices(train.count, 32, 3407))).pixels;
    const list: [string, VitCheckpoint, Float32Array, number][] = [['demo (fashion-vit)', demo, demoImages, 32]];
    if (!demoOnly) {
      const deit = randomVitCheckpoint(JSON.stringify({ architecture: 'deit_small_patch16_224' }), 7);
      const c = deit.config;
      list.push(['deit_small-shaped', deit, uniformTensor(7, 1, 4 * c.inChans * c.imgSize * c.imgSize, 0, 1.5), 4]);
    }
    const out: BenchModel[] = [];
    for (const [name, ckpt, pixels, count] of list) {
      console.log(`quantizing ${name} (rtn, W4A4 and W3A3)...`);
      out.push({
        name,
        float: ckpt,
        floatBytes: name.startsWith('demo') ? readFileSync(join(PACKAGE_ROOT, 'demo', 'fashion-vit', 'model.safetensors')) : checkpointToSafetensors(ckpt),
        quantized: { W4A4: await quantizeRtn(ctx, ckpt, pixels, count, 4), W3A3: await quantizeRtn(ctx, ckpt, pixels, count, 3) },
      });
    }
    return out;
  } finally {
    await ctx.dispose();
  }
}

/** Node: upload, forward, read back, `repeats` times after a warm-up; releases the model. */
async function timeNode(model: Classifier & { release(): void }, batch: number, repeats: number): Promise<number[]> {
  const [c, h, w] = model.inputShape;
  const times = await timeForwardMs(model, uniformTensor(1, 0, batch * c * h * w, 0, 1), batch, repeats);
  model.release();
  return times;
}

const rows: Row[] = [];
const resultsDir = join(PACKAGE_ROOT, 'bench', 'results');
mkdirSync(resultsDir, { recursive: true });
let nodeAdapter: AdapterSummary | null = null;
let browserAdapter: AdapterSummary | null = null;
let browserFeatures: string[] = [];
let ortAdapter: WebAdapterInfo | null = null;

function record(model: string, engine: string, precision: string, batch: number, bytes: number, times: number[]): void {
  const med = median(times);
  rows.push({ model, engine, precision, batch, median_ms: med, images_per_second: (1000 * batch) / med, model_bytes: bytes, times_ms: times });
  console.log(`  ${engine} ${model} ${precision} batch ${batch}: ${med.toFixed(1)} ms, ${((1000 * batch) / med).toFixed(2)} img/s`);
  writeFileSync(join(resultsDir, 'int.json.tmp'), `${JSON.stringify({ partial: true, rows }, null, 1)}\n`);
}

const models = await prepareModels();

// Our pipelines in Node.
for (const m of models) {
  for (const batch of [1, 32]) {
    const ctx = await createNodeContext({});
    nodeAdapter = ctx.adapter;
    const r = repeatsFor(m.name, batch);
    record(m.name, 'fimaq (Node, Dawn)', 'float32', batch, m.floatBytes.length, await timeNode(VitModel.upload(ctx, m.float), batch, r));
    for (const bits of ['W4A4', 'W3A3'] as const) {
      const q = m.quantized[bits];
      record(m.name, 'fimaq (Node, Dawn)', `${bits} integer`, batch, q.bytes.length, await timeNode(IntVit.upload(ctx, q.model), batch, r));
    }
    const q4 = m.quantized.W4A4;
    record(m.name, 'fimaq (Node, Dawn)', 'W4A4 fake-quant (float simulation)', batch, q4.bytes.length, await timeNode(FakeQuantModel.upload(ctx, q4.model), batch, r));
    await ctx.dispose();
  }
}

// Our pipelines in headless Chromium: the page fetches the model files from the Vite server.
const cacheDir = join(PACKAGE_ROOT, 'bench', '.cache');
mkdirSync(cacheDir, { recursive: true });
const session = await openEnginePage();
try {
  for (const m of models) {
    const stem = m.name.startsWith('demo') ? 'demo' : 'deit_small';
    writeFileSync(join(cacheDir, `${stem}.config.json`), m.float.configText);
    writeFileSync(join(cacheDir, `${stem}.safetensors`), m.floatBytes);
    for (const bits of ['W4A4', 'W3A3'] as const) writeFileSync(join(cacheDir, `${stem}-${bits}.safetensors`), m.quantized[bits].bytes);
    for (const batch of [1, 32]) {
      if (skipped(m.name, batch, true)) continue;
      for (const [precision, file, kind, bytes] of [
        ['float32', `${stem}.safetensors`, 'float', m.floatBytes.length],
        ['W4A4 integer', `${stem}-W4A4.safetensors`, 'int', m.quantized.W4A4.bytes.length],
        ['W3A3 integer', `${stem}-W3A3.safetensors`, 'int', m.quantized.W3A3.bytes.length],
      ] as const) {
        const r = (await session.page.evaluate(
          async (url: string, configUrl: string, k: string, b: number, n: number) => {
            const api = (window as unknown as { fimaq: typeof import('../src/browser/engine.js') }).fimaq;
            const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
            const model = k === 'float' ? { kind: 'float' as const, configText: await (await fetch(configUrl)).text(), safetensors: bytes } : { kind: 'int' as const, quantized: bytes };
            return api.timeForward(model, b, n);
          },
          `/bench/.cache/${file}`, `/bench/.cache/${stem}.config.json`, kind, batch, repeatsFor(m.name, batch),
        )) as { times_ms: number[]; adapter: AdapterSummary; languageFeatures: string[] };
        browserAdapter = r.adapter;
        browserFeatures = r.languageFeatures;
        record(m.name, 'fimaq (Chromium, navigator.gpu)', precision, batch, bytes, r.times_ms);
      }
    }
  }
} finally {
  await session.close();
  rmSync(cacheDir, { recursive: true, force: true });
}

// The onnxruntime peers on the same float checkpoints.
const page = await OrtWebPage.open(false);
try {
  for (const m of models) {
    for (const peer of peerModels(m.name, m.float)) {
      const precision = peer.precision === 'int4' ? 'int4 weights (MatMulNBits)' : 'float32';
      for (const batch of [1, 32]) {
        const r = repeatsFor(m.name, batch);
        const node = await measureOrtNode(peer, batch, r);
        record(m.name, 'onnxruntime-node (CPU EP)', precision, batch, peer.bytes.length, node.times_ms);
        if (skipped(m.name, batch, true)) continue;
        const web = await measureOrtWeb(page, peer, batch, r);
        ortAdapter = page.lastAdapter ?? ortAdapter;
        record(m.name, 'onnxruntime-web (WebGPU EP, Chromium)', precision, batch, peer.bytes.length, web.times_ms);
      }
    }
  }
} finally {
  await page.close();
}

/** images/s of a row over that of a baseline row (same model and batch), or null. */
function ratio(r: Row, engine: string, precision: string): number | null {
  const base = rows.find((x) => x.model === r.model && x.batch === r.batch && x.engine === engine && x.precision === precision);
  return base ? r.images_per_second / base.images_per_second : null;
}

const table = rows.map((r) => ({
  ...r,
  vs_ort_web_float: ratio(r, 'onnxruntime-web (WebGPU EP, Chromium)', 'float32'),
  vs_same_engine_float: ratio(r, r.engine, 'float32'),
  size_vs_float32: r.model_bytes / (models.find((m) => m.name === r.model) as BenchModel).floatBytes.length,
}));
const name = nodeAdapter?.architecture || nodeAdapter?.vendor || 'unknown';
const file = join(resultsDir, `int-${name}.json`);
const report = {
  bench: 'int',
  date: new Date().toISOString(),
  quick,
  adapters: { node: nodeAdapter, chromium: browserAdapter, chromium_wgsl_features: browserFeatures, onnxruntime_web: ortAdapter, onnxruntime_node_cpu: nodeCpuInfo() },
  timing: 'whole forward: images uploaded, logits read back; one untimed warm-up; images/s = batch / median',
  skipped: [demoOnly ? 'deit_small-shaped (--demo-only)' : null, quick ? 'deit_small-shaped at batch 32 in the browser engines (--quick)' : null].filter(Boolean),
  file_sizes: Object.fromEntries(models.map((m) => [m.name, { float32: m.floatBytes.length, W4A4: m.quantized.W4A4.bytes.length, W3A3: m.quantized.W3A3.bytes.length }])),
  rows: table,
};
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
rmSync(join(resultsDir, 'int.json.tmp'), { force: true });

const fmt = (x: number | null) => (x === null ? '—' : `${x.toFixed(2)}x`);
console.log(`\nadapters: Node ${nodeAdapter?.vendor} / ${nodeAdapter?.architecture} (${nodeAdapter?.description}); Chromium ${browserAdapter?.vendor} / ${browserAdapter?.architecture}; onnxruntime-node CPU ${nodeCpuInfo().model}\n`);
console.log('| model | engine | precision | batch | median ms | images/s | vs ort-web float | vs same engine float | file bytes | size vs float32 |');
console.log('|---|---|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of table) {
  console.log(`| ${r.model} | ${r.engine} | ${r.precision} | ${r.batch} | ${r.median_ms.toFixed(1)} | ${r.images_per_second.toFixed(2)} | ${fmt(r.vs_ort_web_float)} | ${fmt(r.vs_same_engine_float)} | ${r.model_bytes} | ${r.size_vs_float32.toFixed(3)} |`);
}
console.log(`\nwrote ${file} (${statSync(file).size} bytes)`);
