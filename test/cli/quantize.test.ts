/** `fimaq quantize` end to end on the demo model (rtn on a few images keeps it fast), and its errors. */
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readQuantizedModel } from '../../src/io/quantized-file-node.js';
import { runCli } from '../helpers/cli.js';

describe('fimaq quantize', () => {
  it('writes a quantized file that eval and info accept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fimaq-q-'));
    const out = join(dir, 'demo-w4a4.safetensors');
    writeFileSync(join(dir, 'indices.json'), JSON.stringify([5, 17, 42, 99, 1000, 2024, 31337, 59999]));
    const q = await runCli(['quantize', '--model', 'demo', '--method', 'rtn', '--wbits', '4', '--abits', '4', '--calib-indices', join(dir, 'indices.json'), '--out', out, '--json']);
    expect(q.code).toBe(0);
    const summary = JSON.parse(q.stdout);
    expect(summary).toMatchObject({ command: 'quantize', method: 'rtn', wbits: 4, abits: 4, calib_size: 8, output: out });
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const file = await readQuantizedModel(out);
    expect(file.info).toMatchObject({ method: 'rtn', wbits: 4, abits: 4, calibSize: 8 });
    const e = await runCli(['eval', '--model', out, '--data', 'fashion-mnist:test', '--limit', '64', '--engine', 'both', '--json']);
    expect(e.code, e.stderr).toBe(0);
    const result = JSON.parse(e.stdout);
    expect(result).toMatchObject({ engine: 'int', method: 'rtn', wbits: 4, abits: 4, count: 64 });
    expect(result.top1).toBeGreaterThan(0.5);
    // The integer pipeline and the fake-quant simulation compute the same function.
    expect(result.top1_agreement).toBe(1);
    expect(result.rel_logit_diff.median).toBeLessThan(1e-4);
    expect(Math.abs(result.fake_quant.top1 - result.top1)).toBe(0);
    const info = await runCli(['info', '--model', out, '--json']);
    expect(JSON.parse(info.stdout)).toMatchObject({ embed_dim: 64, depth: 4 });
  });

  it('runs FIMA-Q when no --method is given, and --eval compares float, calibration-only and FIMA-Q', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'fimaq-q-')), 'fimaq.safetensors');
    const tiny = ['--preset', 'quick', '--calib-size', '8', '--search-size', '2', '--batch', '4', '--iters', '2', '--k', '1'];
    const r = await runCli(['quantize', '--model', 'demo', ...tiny, '--out', out, '--eval', 'fashion-mnist:test', '--limit', '40', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ method: 'fimaq', output: out, eval: { data: expect.stringMatching(/fashion-mnist/i), count: 40 } });
    // One snapshot (--k 1) per unit but the head; a single row is alike with itself.
    for (const u of summary.units) {
      if (u.unit === 'head') expect(u.snapshots).toBeUndefined();
      else expect(u).toMatchObject({ snapshots: 1, snapshot_grad_min_cosine: 1, snapshot_error_min_cosine: 1 });
    }
    const e = await runCli(['eval', '--model', out, '--data', 'fashion-mnist:test', '--limit', '40', '--json']);
    expect(JSON.parse(e.stdout).top1).toBe(summary.eval.quantized);
    const float = await runCli(['eval', '--model', 'demo', '--data', 'fashion-mnist:test', '--limit', '40', '--json']);
    expect(JSON.parse(float.stdout).top1).toBe(summary.eval.float);
    expect(summary.eval.calib).toBeGreaterThan(0.4);
    expect(summary.eval.calib).toBeLessThanOrEqual(1);
  }, 600_000);

  it('rejects bad options and bad index files with one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fimaq-q-'));
    const out = join(dir, 'x.safetensors');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify([1, 2, 70000]));
    for (const [args, pattern] of [
      [['--wbits', '9'], /bit width 9 is not supported/],
      [['--method', 'magic'], /--method must be one of fimaq, diag-fim, lr-fim, eig-fim, brecq-fim, mse, calib, rtn/],
      [['--calib-indices', bad], /bad\.json: entry 2 \(70000\) is not an image index/],
      [['--calib-size', '70000'], /--calib-size 70000 exceeds the 60000 images/],
      // eig-fim takes the rank, schedule and temperature, not FIMA-Q's term weights or damping.
      [['--method', 'eig-fim', '--p1', '2'], /--p1 is a Fisher option \(methods fimaq, diag-fim, lr-fim\); --method eig-fim does not use it/],
      [['--method', 'fimaq', '--eig-once'], /--eig-once applies to --method eig-fim; --method fimaq does not use it/],
      [['--method', 'diag-fim', '--eig-power', '0.5'], /--eig-power applies to --method eig-fim; --method diag-fim does not use it/],
      [['--method', 'eig-fim', '--eig-power', '2'], /--eig-power must be a number in \(0, 1\], got '2'/],
      [['--method', 'mse', '--k', '3'], /--k is a Fisher option \(methods fimaq, diag-fim, lr-fim, eig-fim\); --method mse does not use it/],
    ] as [string[], RegExp][]) {
      const r = await runCli(['quantize', '--model', 'demo', '--out', out, ...args]);
      expect(r.code).toBe(1);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
    }
    expect(existsSync(out)).toBe(false);
    expect((await runCli(['quantize', '--model', 'demo'])).stderr).toMatch(/--out is required/);
  });
});
