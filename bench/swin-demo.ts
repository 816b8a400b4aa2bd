/**
 * The demo Swin (demo/fashion-swin) on all 10,000 Fashion-MNIST test images: the engine's float
 * top-1 against timm's (test/fixtures/swin-demo-logits.json, written by tools/make_swin_fixtures.py
 * with timm's own SwinTransformer), and how many images the two classify differently; then the
 * calibration-only quantized models (`fimaq quantize --method calib|rtn`, 128 training images)
 * evaluated on the same images as fake-quant and on the integer pipeline, with the share of images
 * both engines give the same class. Writes bench/results/swin-demo-<adapter>.json.
 * Run: npm run bench:swin-demo [-- --limit N] [--calib-size N]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDataset } from '../src/data/open.js';
import { evaluate, top1Agreement } from '../src/inference/evaluate.js';
import { uploadIntModel } from '../src/inference/int-model.js';
import { loadCheckpoint } from '../src/io/checkpoint-node.js';
import { MemoryStore } from '../src/io/run-store.js';
import { isSwinCheckpoint } from '../src/model/checkpoint.js';
import type { Classifier } from '../src/model/classifier.js';
import { SwinModel } from '../src/model/swin.js';
import { calibrationImages, quantizeModel } from '../src/pipeline/quantize.js';
import { FakeQuantModel } from '../src/quant/fake-quant-model.js';
import { PACKAGE_ROOT, createNodeContext } from '../src/runtime/node-gpu.js';
import { configureVulkanEnv } from '../src/runtime/vulkan-env.js';
import { sourceCommit } from '../src/io/source-commit.js';

configureVulkanEnv('auto');
// Taken before the run: the record names the code that was measured, whatever changes meanwhile.
const commit = sourceCommit();
const option = (name: string): number | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : undefined;
};
const limit = option('--limit');
const calibSize = option('--calib-size') ?? 128;
const fixture = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'test', 'fixtures', 'swin-demo-logits.json'), 'utf8')) as { top1: number; predictions: string };

const ckpt = await loadCheckpoint(join(PACKAGE_ROOT, 'demo', 'fashion-swin'));
if (!isSwinCheckpoint(ckpt)) throw new Error('demo/fashion-swin is not a Swin');
const labels = { numClasses: ckpt.config.numClasses, labelNames: ckpt.config.labelNames, labels: 'required' as const };
const test = await openDataset('fashion-mnist:test', ckpt.config.preprocess, labels);
const train = await openDataset('fashion-mnist:train', ckpt.config.preprocess, { ...labels, labels: 'ignore' });
const ctx = await createNodeContext();
try {
  const run = async (model: Classifier & { release(): void }) => {
    try {
      return await evaluate(model, test, { limit, batchSize: 100 });
    } finally {
      model.release();
    }
  };
  const started = performance.now();
  const float = await run(SwinModel.upload(ctx, ckpt));
  const floatSeconds = (performance.now() - started) / 1000;
  let differ = 0;
  for (let i = 0; i < float.count; i++) if (float.predictions[i] !== Number(fixture.predictions[i])) differ++;
  let timmCorrect = 0;
  for (let i = 0; i < float.count; i++) if (Number(fixture.predictions[i]) === float.labels[i]) timmCorrect++;
  console.log(`float: engine top-1 ${(100 * float.top1).toFixed(2)} %, timm ${(100 * timmCorrect / float.count).toFixed(2)} % on ${float.count} images; ${differ} classified differently (${floatSeconds.toFixed(0)} s)`);

  const calibration = await calibrationImages(train, calibSize, 0);
  const quantized: { method: string; wbits: number; abits: number; fake_top1: number; int_top1: number; top1_agreement: number; calib_seconds: number }[] = [];
  for (const [method, bits] of [['calib', 4], ['calib', 3], ['rtn', 4]] as const) {
    const r = await quantizeModel(ctx, { checkpoint: ckpt, calibration, method, wbits: bits, abits: bits, seed: 0, toolVersion: 'bench' }, { store: new MemoryStore() });
    const fake = await run(FakeQuantModel.upload(ctx, r.quantized));
    const int = await run(uploadIntModel(ctx, r.quantized));
    const agreement = top1Agreement(int, fake);
    quantized.push({ method, wbits: bits, abits: bits, fake_top1: fake.top1, int_top1: int.top1, top1_agreement: agreement, calib_seconds: r.calibSeconds });
    console.log(
      `${method} W${bits}A${bits}: fake-quant top-1 ${(100 * fake.top1).toFixed(2)} %, integer ${(100 * int.top1).toFixed(2)} %, ` +
        `same class on ${(100 * agreement).toFixed(2)} % of images (calibration ${r.calibSeconds.toFixed(0)} s)`,
    );
  }
  const record = {
    bench: 'swin-demo',
    command: `npm run bench:swin-demo${limit || calibSize !== 128 ? ` --${limit ? ` --limit ${limit}` : ''}${calibSize !== 128 ? ` --calib-size ${calibSize}` : ''}` : ''}`,
    commit,
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
