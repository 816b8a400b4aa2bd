/** `fimaq fim` on the demo ViT and the demo Swin with a small slice: the PNG, the JSON and its errors. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

describe('fimaq fim', () => {
  it('writes the four heat maps and the relative errors of the approximations and of the loss terms', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fimaq-fim-'));
    try {
      const out = join(dir, 'fim.png');
      const r = await runCli(['fim', '--model', 'demo', '--calib-size', '12', '--channels', '8', '--rank', '2', '--bits', '3', '--out', out, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const json = JSON.parse(r.stdout);
      expect(json).toMatchObject({ command: 'fim', block: 1, channels: 8, rank: 2, bits: 3, images: 12, output: out });
      const e = json.relative_frobenius_error;
      const t = json.loss_terms_relative_frobenius_error;
      for (const v of [e.diagonal, e.low_rank, e.dplr, t.diagonal, t.low_rank, t.dplr]) {
        expect(v).toBeGreaterThan(0);
        expect(v).toBeLessThanOrEqual(1);
      }
      expect(json.mean_abs_grad_cosine_with_top_eigenvectors).toHaveLength(2);
      for (const c of json.mean_abs_grad_cosine_with_top_eigenvectors) {
        expect(c).toBeGreaterThanOrEqual(0);
        expect(c).toBeLessThanOrEqual(1);
      }
      // Every path from a block's output to the logits enters a LayerNorm, which removes the
      // mean over channels: the class token's gradient sums to zero (float32 rounding aside).
      expect(json.class_token_grad_channel_mean_ratio).toBeLessThan(1e-3);
      expect(json.class_token_grad_share).toBeGreaterThan(0);
      expect(json.class_token_grad_share).toBeLessThan(1);
      for (const share of [json.class_token_grad_square_share, json.eig_fim_class_token_share]) {
        expect(share).toBeGreaterThan(0);
        expect(share).toBeLessThan(1);
      }
      expect(json.tokens).toBe(50);
      expect(json.block_name).toBe('blocks.1');
      // DPLR adds to the rank-k part (or to one loss term) what it lacks, so it is never worse.
      expect(e.dplr).toBeLessThanOrEqual(e.low_rank + 1e-12);
      // eig-fim's matrix holds F's own diagonal and its best rank-k part of the whole output.
      const eig = json.eig_fim_relative_frobenius_error;
      for (const v of [eig.slice, eig.full_output]) {
        expect(v).toBeGreaterThan(0);
        expect(v).toBeLessThan(1);
      }
      expect(json.eig_fim_captured_trace_share).toBeGreaterThan(0);
      expect(json.eig_fim_captured_trace_share).toBeLessThanOrEqual(1);
      expect(t.dplr).toBeLessThanOrEqual(Math.min(t.diagonal, t.low_rank) + 1e-12);
      const png = PNG.sync.read(readFileSync(out));
      // Four 8 x 8 panels of 4-pixel cells with 8-pixel gaps.
      expect([png.width, png.height]).toEqual([4 * 32 + 5 * 8, 32 + 2 * 8]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it('takes a Swin block across its stages: the first grid token\'s channels, no class-token statistics', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fimaq-fim-'));
    try {
      const out = join(dir, 'fim.png');
      // Block 2 of the demo Swin is the first of stage 1 (7x7 tokens of width 64), after the patch merging.
      const r = await runCli(['fim', '--model', 'demo/fashion-swin', '--calib', 'fashion-mnist:train', '--block', '2', '--calib-size', '8', '--channels', '6', '--rank', '2', '--bits', '4', '--out', out, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const json = JSON.parse(r.stdout);
      expect(json).toMatchObject({ command: 'fim', block: 2, block_name: 'layers.1.blocks.0', tokens: 49, channels: 6, images: 8, class_token_grad_share: null, class_token_grad_square_share: null, eig_fim_class_token_share: null });
      const e = json.relative_frobenius_error;
      for (const v of [e.diagonal, e.low_rank, e.dplr]) {
        expect(v).toBeGreaterThan(0);
        expect(v).toBeLessThanOrEqual(1);
      }
      expect(existsSync(out)).toBe(true);
      const bad = await runCli(['fim', '--model', 'demo/fashion-swin', '--calib', 'fashion-mnist:train', '--block', '4', '--out', join(dir, 'bad.png')]);
      expect(bad.stderr).toMatch(/--block must be an integer from 0 to 3, got '4'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it('refuses a block or a slice the model does not have, and writes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fimaq-fim-'));
    try {
      const out = join(dir, 'fim.png');
      for (const [args, message] of [
        [['--block', '4'], /--block must be an integer from 0 to 3, got '4'/],
        [['--channels', '65'], /--channels 65 exceeds the width 64 of blocks\.1/],
      ] as const) {
        const r = await runCli(['fim', '--model', 'demo', '--out', out, ...args]);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(message);
      }
      expect(existsSync(out)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
