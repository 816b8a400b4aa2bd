/** The CLI on Swin checkpoints: info (with the memory estimate), float eval; calibration-only and reconstruction quantization, fake-quant and integer evaluation. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointToSafetensors } from '../../src/io/checkpoint-file.js';
import { runCli } from '../helpers/cli.js';
import { randomSwinCheckpoint } from '../helpers/random-vit.js';

/** A random-weight Swin on 28x28 grey images whose first stage pads its 14x14 grid to windows of 5. */
function swinFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fimaq-swin-'));
  const config = JSON.stringify({
    architecture: 'swin_tiny_patch4_window7_224',
    model_args: { img_size: 28, patch_size: 2, window_size: 5, in_chans: 1, num_classes: 10, embed_dim: 16, depths: [2, 2], num_heads: [2, 4] },
    pretrained_cfg: { mean: [0.286], std: [0.353], crop_pct: 1, interpolation: 'bilinear' },
  });
  writeFileSync(join(dir, 'config.json'), config);
  writeFileSync(join(dir, 'model.safetensors'), checkpointToSafetensors(randomSwinCheckpoint(config, 9)));
  return dir;
}

describe('fimaq on a Swin checkpoint', () => {
  const dir = swinFolder();

  it('info describes the stages, windows and padding (text and --json)', async () => {
    const text = await runCli(['info', '--model', dir]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/architecture: swin_tiny_patch4_window7_224 \(swin\), 2 stages, width 16, window 5/);
    expect(text.stdout).toMatch(/stage 0: 2 blocks on 14x14 tokens, width 16, 2 heads, MLP 64; 9 windows of 5x5 \(grid padded to 15x15\), odd blocks shifted by 2/);
    expect(text.stdout).toMatch(/stage 1: patch merging, then 2 blocks on 7x7 tokens, width 32, 4 heads, MLP 128; 4 windows of 5x5 \(grid padded to 10x10\), odd blocks shifted by 2/);
    expect(text.stdout).toMatch(/GPU memory of quantize --method fimaq --preset paper: peak [\d.]+ MiB \((calibration|reconstruction), /);
    const json = await runCli(['info', '--model', dir, '--json']);
    const j = JSON.parse(json.stdout);
    expect(j).toMatchObject({ family: 'swin', window_size: 5, num_features: 32, num_classes: 10, memory: { method: 'fimaq', calibration_images: 1024, search_images: 128 } });
    expect(j.stages[1]).toMatchObject({ resolution: 7, dim: 32, depth: 2, num_heads: 4, window: 5, windows: 4, shift: 2, padded: 10, patch_merging: true });
    expect(j.parameters).toBeGreaterThan(10_000);
  });

  it('eval runs the float model and prints one JSON object', async () => {
    const r = await runCli(['eval', '--model', dir, '--data', 'fashion-mnist:test', '--limit', '16', '--batch', '8', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ engine: 'float', count: 16 });
    expect(j.top5).toBeGreaterThanOrEqual(j.top1);
  });

  // rtn: the calibration search of every window costs minutes on SwiftShader; test/quant/calibrate-swin.test.ts covers it.
  it('quantize --method rtn writes a quantized Swin that eval runs as fake-quant and on the integer pipeline', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'fimaq-swin-q-')), 'q.safetensors');
    const q = await runCli(['quantize', '--model', dir, '--calib', 'fashion-mnist:train', '--calib-size', '8', '--method', 'rtn', '--out', out, '--json']);
    expect(q.code, q.stderr).toBe(0);
    const qj = JSON.parse(q.stdout);
    expect(qj).toMatchObject({ method: 'rtn', wbits: 4, abits: 4, calib_size: 8 });
    expect(qj.memory_estimate.peak_bytes).toBeGreaterThan(0);
    expect(qj.memory_estimate.peak_at).toMatch(/^calibration, /);
    const info = JSON.parse((await runCli(['info', '--model', out, '--json'])).stdout);
    expect(info).toMatchObject({ family: 'swin', window_size: 5 });
    const fake = await runCli(['eval', '--model', out, '--engine', 'fake', '--data', 'fashion-mnist:test', '--limit', '16', '--json']);
    expect(fake.code, fake.stderr).toBe(0);
    expect(JSON.parse(fake.stdout)).toMatchObject({ engine: 'fake-quant', method: 'rtn', count: 16 });
    const both = await runCli(['eval', '--model', out, '--engine', 'both', '--data', 'fashion-mnist:test', '--limit', '16', '--json']);
    expect(both.code, both.stderr).toBe(0);
    const j = JSON.parse(both.stdout);
    expect(j).toMatchObject({ engine: 'int', count: 16 });
    expect(j.top1_agreement).toBeGreaterThanOrEqual(15 / 16);
  });

  it('quantize --method fimaq reconstructs a Swin (tiny settings); info estimates the memory of a Swin run', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'fimaq-swin-q-')), 'q.safetensors');
    const args = ['--preset', 'quick', '--iters', '2', '--calib-size', '8', '--search-size', '4', '--search-candidates', '16', '--k', '1'];
    const q = await runCli(['quantize', '--model', dir, '--calib', 'fashion-mnist:train', '--method', 'fimaq', ...args, '--out', out, '--json']);
    expect(q.code, q.stderr).toBe(0);
    const j = JSON.parse(q.stdout);
    expect(j).toMatchObject({ method: 'fimaq', wbits: 4, abits: 4, calib_size: 8 });
    const units = (j.units as { unit: string }[]).map((u) => u.unit);
    expect(units).toEqual(['patch_embed', 'layers.0.blocks.0', 'layers.0.blocks.1', 'layers.1.downsample', 'layers.1.blocks.0', 'layers.1.blocks.1', 'head']);
    const both = await runCli(['eval', '--model', out, '--engine', 'both', '--data', 'fashion-mnist:test', '--limit', '16', '--json']);
    expect(both.code, both.stderr).toBe(0);
    expect(JSON.parse(both.stdout)).toMatchObject({ engine: 'int', method: 'fimaq', count: 16 });
    const info = await runCli(['info', '--model', dir, '--method', 'mse', '--preset', 'quick', '--gpu-memory', '1', '--json']);
    expect(info.code, info.stderr).toBe(0);
    const ij = JSON.parse(info.stdout);
    expect(ij).toMatchObject({ family: 'swin', fits: false, memory: { method: 'mse', calibration_images: 256 } });
    expect(ij.memory.reconstruction.peakAt).toMatch(/^(patch_embed|layers\.\d+\.(blocks\.\d+|downsample)|head) /);
  });
});
