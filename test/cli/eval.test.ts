/**
 * `fimaq eval` / `fimaq info` on the demo model. The full 10k-image comparison with PyTorch is the
 * acceptance run in the README; here the first 500 test images keep the suite fast.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDataset } from '../../src/data/open.js';
import { evaluate } from '../../src/inference/evaluate.js';
import { loadVitCheckpoint } from '../../src/io/checkpoint-node.js';
import { VitModel } from '../../src/model/vit.js';
import { PACKAGE_ROOT } from '../../src/runtime/node-gpu.js';
import { runCli } from '../helpers/cli.js';
import { testContext } from '../helpers/gpu.js';

const fixture = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'test', 'fixtures', 'demo-logits.json'), 'utf8'));

describe('demo model evaluation', () => {
  it('predicts the same classes as PyTorch on the first 500 Fashion-MNIST test images', async () => {
    const ckpt = await loadVitCheckpoint(join(PACKAGE_ROOT, 'demo', 'fashion-vit'), 'the test');
    const data = await openDataset('fashion-mnist:test', ckpt.config.preprocess);
    const ctx = await testContext();
    const model = VitModel.upload(ctx, ckpt);
    const r = await evaluate(model, data, { limit: 500, batchSize: 100 });
    model.release();
    let differ = 0;
    for (let i = 0; i < 500; i++) if (r.predictions[i] !== Number(fixture.predictions[i])) differ++;
    expect(differ).toBeLessThanOrEqual(1);
    expect(r.top1).toBeGreaterThan(0.85);
  });

  it('eval --json prints exactly one JSON object with top1, count, seconds and adapter', async () => {
    const r = await runCli(['eval', '--model', 'demo', '--data', 'fashion-mnist:test', '--limit', '64', '--batch', '32', '--json']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0]);
    expect(j.count).toBe(64);
    expect(j.top1).toBeGreaterThan(0.7);
    expect(j.top5).toBeGreaterThanOrEqual(j.top1);
    expect(j.seconds).toBeGreaterThan(0);
    for (const k of ['vendor', 'architecture', 'description', 'fallback']) expect(j.adapter).toHaveProperty(k);
  });

  it('info describes the architecture, parameters and preprocessing', async () => {
    const r = await runCli(['info', '--model', 'demo', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ embed_dim: 64, depth: 4, num_heads: 4, patch_size: 4, in_chans: 1, num_classes: 10 });
    expect(j.parameters).toBeGreaterThan(200_000);
    expect(j.flops_per_image).toBeLessThan(50e6);
  });

  it('fimaq info prints the memory estimate of the run the options describe, and checks --gpu-memory', async () => {
    const paper = JSON.parse((await runCli(['info', '--model', 'demo', '--json'])).stdout);
    const quick = JSON.parse((await runCli(['info', '--model', 'demo', '--preset', 'quick', '--json'])).stdout);
    expect(paper.memory).toMatchObject({ method: 'fimaq', calibration_images: 1024, search_images: 128, batch: 32 });
    expect(quick.memory).toMatchObject({ method: 'fimaq', calibration_images: 256, search_images: 8, batch: 8 });
    expect(quick.memory.peak_bytes).toBeLessThan(paper.memory.peak_bytes);
    const mib = Math.ceil(quick.memory.peak_bytes / 2 ** 20);
    const fits = await runCli(['info', '--model', 'demo', '--preset', 'quick', '--gpu-memory', String(mib), '--json']);
    expect(JSON.parse(fits.stdout)).toMatchObject({ fits: true });
    const small = await runCli(['info', '--model', 'demo', '--preset', 'quick', '--gpu-memory', '1']);
    expect(small.stdout).toMatch(/does not fit: the run needs about \d+ MiB of GPU memory at its peak \((calibration|reconstruction), /);
    expect((await runCli(['info', '--model', 'demo', '--method', 'rtn', '--iters', '5'])).stderr).toMatch(/--iters does not apply to fimaq info --method rtn/);
  });
});
