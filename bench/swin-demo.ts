/**
 * The demo Swin (demo/fashion-swin) on all 10,000 Fashion-MNIST test images: the engine's float
 * top-1 against timm's (test/fixtures/swin-demo-logits.json, written by tools/make_swin_fixtures.py
 * with timm's own SwinTransformer), and how many images the two classify differently; then the
 * calibration-only quantized models (`fimaq quantize --method calib|rtn`, 128 training images)
 * evaluated as fake-quant on the same images. Writes bench/results/swin-demo-<adapter>.json.
 * Run: npm run bench:swin-demo [-- --limit N]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDataset } from '../src/data/open.js';
import { evaluate } from '../src/inference/evaluate.js';
import { loadCheckpoint } from '../src/io/checkpoint-node.js';
import { MemoryStore } from '../src/io/run-store.js';
import { isSwinCheckpoint } from '../src/model/checkpoint.js';
import { SwinModel } from '../src/model/swin.js';
import { calibrationImages, quantizeModel } from '../src/pipeline/quantize.js';
import { FakeQuantModel } from '../src/quant/fake-quant-model.js';
import { PACKAGE_ROOT, createNodeContext } from '../src/runtime/node-gpu.js';
import { configureVulkanEnv } from '../src/runtime/vulkan-env.js';
import { sourceCommit } from './commit.js';

configureVulkanEnv('auto');
const limitArg = process.argv.indexOf('--limit');
const limit = limitArg >= 0 ? Number(process.argv[limitArg + 1]) : undefined;
const fixture = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'test', 'fixtures', 'swin-demo-logits.json'), 'utf8')) as { top1: number; predictions: string };

const ckpt = await loadCheckpoint(join(PACKAGE_ROOT, 'demo', 'fashion-swin'));
if (!isSwinCheckpoint(ckpt)) throw new Error('demo/fashion-swin is not a Swin');
const labels = { numClasses: ckpt.config.numClasses, labelNames: ckpt.config.labelNames, labels: 'required' as const };
const test = await openDataset('fashion-mnist:test', ckpt.config.preprocess, labels);
const train = await openDataset('fashion-mnist:train', ckpt.config.preprocess, { ...labels, labels: 'ignore' });
const ctx = await createNodeContext();
try {
  const started = performance.now();
  const float = await evaluate(SwinModel.upload(ctx, ckpt), test, { limit, batchSize: 100 });
  const floatSeconds = (performance.now() - started) / 1000;
  let differ = 0;
  for (let i = 0; i < float.count; i++) if (float.predictions[i] !== Number(fixture.predictions[i])) differ++;
  let timmCorrect = 0;
  for (let i = 0; i < float.count; i++) if (Number(fixture.predictions[i]) === float.labels[i]) timmCorrect++;
  console.log(`float: engine top-1 ${(100 * float.top1).toFixed(2)} %, timm ${(100 * timmCorrect / float.count).toFixed(2)} % on ${float.count} images; ${differ} classified differently (${floatSeconds.toFixed(0)} s)`);

  const calibration = await calibrationImages(train, 128, 0);
  const quantized: { method: string; wbits: number; abits: number; top1: number; calib_seconds: number }[] = [];
  for (const [method, bits] of [['calib', 8], ['calib', 4], ['rtn', 4]] as const) {
    const r = await quantizeModel(ctx, { checkpoint: ckpt, calibration, method, wbits: bits, abits: bits, seed: 0, toolVersion: 'bench' }, { store: new MemoryStore() });
    const e = await evaluate(FakeQuantModel.upload(ctx, r.quantized), test, { limit, batchSize: 100 });
    quantized.push({ method, wbits: bits, abits: bits, top1: e.top1, calib_seconds: r.calibSeconds });
    console.log(`${method} W${bits}A${bits}: fake-quant top-1 ${(100 * e.top1).toFixed(2)} % (calibration ${r.calibSeconds.toFixed(0)} s)`);
  }
  const record = {
    bench: 'swin-demo',
    command: `npm run bench:swin-demo${limit ? ` -- --limit ${limit}` : ''}`,
    commit: sourceCommit(),
    date: new Date().toISOString(),
    adapter: ctx.adapter,
    images: float.count,
    float: { engine_top1: float.top1, timm_top1: timmCorrect / float.count, classified_differently: differ, seconds: floatSeconds },
    calibration_images: calibration.count,
    quantized,
  };
  const dir = join(PACKAGE_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `swin-demo-${String(ctx.adapter.architecture || ctx.adapter.vendor || 'unknown').replace(/\W+/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  console.log(`wrote ${file}`);
} finally {
  await ctx.dispose();
}
