/**
 * The onnxruntime peers on the same ViT models as our own pipeline: onnxruntime-web with the WebGPU
 * execution provider in headless Chromium, and onnxruntime-node on the CPU, each with the float32
 * export and the int4 weight-only export (com.microsoft MatMulNBits, blocks of 32) of
 * src/io/onnx-export.ts. Models: the demo ViT (28x28x1) and a random-weight
 * deit_small_patch16_224-shaped model (depth 12, width 384, 6 heads, 224x224x3, seed 7).
 *
 * Writes bench/results/peers-<adapter>.json (the adapter the browser's WebGPU reports) and prints a
 * markdown table. Run: npm run bench:peers [-- --quick]
 *
 * On SwiftShader the WebGPU numbers describe this CPU, not a GPU. deit_small in the browser takes
 * about a minute per image there, so its batch-32 row runs once (without a warm-up in --quick).
 * The measuring functions live in bench/ort-peers.ts for a combined benchmark to import.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { loadVitCheckpoint } from '../src/io/checkpoint-node.js';
import { PACKAGE_ROOT } from '../src/runtime/node-gpu.js';
import { randomVitCheckpoint } from '../test/helpers/random-vit.js';
import { OrtWebPage, PEER_INT4, measureOrtNode, measureOrtWeb, nodeCpuInfo, peerModels, type Measurement, type PeerModel, type PeerRow, type WebAdapterInfo } from './ort-peers.js';

const quick = process.argv.includes('--quick');


interface Plan {
  model: PeerModel;
  engine: 'onnxruntime-node' | 'onnxruntime-web';
  batch: number;
  repeats: number;
  warmup: number;
}

function version(pkg: string): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
}

const loadAtStart = loadavg();
const t0 = performance.now();
const demo = peerModels('demo (fashion-vit)', await loadVitCheckpoint(join(PACKAGE_ROOT, 'demo', 'fashion-vit'), 'the benchmark'));
const deit = peerModels('deit_small-shaped', randomVitCheckpoint(JSON.stringify({ architecture: 'deit_small_patch16_224' }), 7));
console.log(`exported ${[...demo, ...deit].map((m) => `${m.name} ${m.precision} ${m.bytes.length} B`).join(', ')} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const plans: Plan[] = [];
for (const engine of ['onnxruntime-node', 'onnxruntime-web'] as const) {
  const web = engine === 'onnxruntime-web';
  for (const model of demo) {
    plans.push({ model, engine, batch: 1, repeats: quick ? 3 : 10, warmup: 1 });
    plans.push({ model, engine, batch: 32, repeats: quick ? 2 : 5, warmup: 1 });
  }
  for (const model of deit) plans.push({ model, engine, batch: 1, repeats: quick ? 1 : 3, warmup: 1 });
  for (const model of deit) plans.push({ model, engine, batch: 32, repeats: web ? (quick ? 1 : 2) : quick ? 1 : 3, warmup: web && quick ? 0 : 1 });
}

const resultsDir = join(PACKAGE_ROOT, 'bench', 'results');
mkdirSync(resultsDir, { recursive: true });
const cpu = nodeCpuInfo();
const rows: PeerRow[] = [];
let page: OrtWebPage | null = null;
let adapter: WebAdapterInfo | null = null;

function report(): object {
  return {
    bench: 'peers',
    date: new Date().toISOString(),
    quick,
    adapter,
    cpu,
    // The machine may be shared: the 1-minute load averages when the run started and now.
    load_average: { start: loadAtStart[0], end: loadavg()[0] },
    onnxruntime: { node: version('onnxruntime-node'), web: version('onnxruntime-web') },
    int4_export: { ...PEER_INT4, note: 'every linear layer and the patch embedding (im2col) as MatMulNBits, 4 bits, round-to-nearest with per-block zero points; float32 compute' },
    timing: 'session.run end to end (input upload and logits readback included), after `warmup` untimed runs; images/s = batch / median',
    model_bytes: [...demo, ...deit].map((m) => ({ model: m.name, precision: m.precision, bytes: m.bytes.length })),
    rows,
  };
}

try {
  for (const [i, p] of plans.entries()) {
    const label = `[${i + 1}/${plans.length}] ${p.engine} ${p.model.name} ${p.model.precision} batch ${p.batch} (${p.warmup} warm-up, ${p.repeats} timed)`;
    console.log(`${label}...`);
    let m: Measurement;
    if (p.engine === 'onnxruntime-node') {
      m = await measureOrtNode(p.model, p.batch, p.repeats, p.warmup);
    } else {
      page ??= await OrtWebPage.open(true);
      adapter ??= await page.adapter();
      m = await measureOrtWeb(page, p.model, p.batch, p.repeats, p.warmup);
      adapter = page.lastAdapter ?? adapter;
    }
    rows.push({
      model: p.model.name,
      engine: p.engine,
      precision: p.model.precision === 'int4' ? 'int4 weights (MatMulNBits)' : 'float32',
      batch: p.batch,
      median_ms: m.median_ms,
      images_per_second: m.images_per_second,
      model_bytes: p.model.bytes.length,
      execution_provider: m.ep,
      placement: m.placement,
      warmup: m.warmup,
      times_ms: m.times_ms,
    });
    console.log(`${label}: ${m.median_ms.toFixed(1)} ms, ${m.images_per_second.toFixed(2)} img/s; ${m.placement}`);
    // Partial results survive an interrupted run (bench/results/*.tmp is ignored by git).
    writeFileSync(join(resultsDir, 'peers.json.tmp'), `${JSON.stringify(report(), null, 2)}\n`);
  }
} finally {
  await page?.close();
}

const name = adapter ? adapter.architecture || adapter.vendor || 'unknown' : 'no-webgpu';
const file = join(resultsDir, `peers-${name}.json`);
writeFileSync(file, `${JSON.stringify(report(), null, 2)}\n`);
rmSync(join(resultsDir, 'peers.json.tmp'), { force: true });

const a = adapter ? `${adapter.vendor} / ${adapter.architecture}${adapter.description ? ` (${adapter.description})` : ''}` : 'none';
console.log(`\nonnxruntime-web ${version('onnxruntime-web')} WebGPU adapter: ${a}; onnxruntime-node ${version('onnxruntime-node')} CPU: ${cpu.model}, ${cpu.cores} cores\n`);
console.log('| model | engine | precision | batch | median ms | images/s | model bytes |');
console.log('|---|---|---|---:|---:|---:|---:|');
for (const r of rows) {
  const engine = r.engine === 'onnxruntime-web' ? 'onnxruntime-web (WebGPU EP)' : 'onnxruntime-node (CPU EP)';
  console.log(`| ${r.model} | ${engine} | ${r.precision} | ${r.batch} | ${r.median_ms.toFixed(1)} | ${r.images_per_second.toFixed(2)} | ${r.model_bytes} |`);
}
console.log(`\nwrote ${file}`);
