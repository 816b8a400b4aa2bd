/** `fimaq ablate` on the demo model with tiny settings: one shared calibration, a table and JSON. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeAdapter } from '../../src/cli/common.js';
import { runCli } from '../helpers/cli.js';

const TINY = ['--model', 'demo', '--data', 'fashion-mnist:test', '--limit', '32', '--preset', 'quick', '--calib-size', '8', '--search-size', '2', '--batch', '4', '--iters', '2', '--k', '1'];

describe('fimaq ablate', () => {
  it('runs every method on one calibration and reports each run', async () => {
    const r = await runCli(['ablate', ...TINY, '--methods', 'calib,mse,brecq-fim,fimaq', '--bits', '4', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.runs.map((x: { method: string }) => x.method)).toEqual(['calib', 'mse', 'brecq-fim', 'fimaq']);
    // Progress inside a run: each unit of the reconstruction, then the evaluation.
    expect(r.stderr).toMatch(/ablate: W4A4 seed 3407: fimaq: blocks\.3 \(3\/4/);
    expect(r.stderr).toMatch(/ablate: W4A4 seed 3407: fimaq: evaluating \(3\/4/);
    for (const run of out.runs) {
      expect(run).toMatchObject({ bits: 4, seed: 3407 });
      expect(run.top1).toBeGreaterThan(0.3);
      expect(run.top1).toBeLessThanOrEqual(1);
      // Against the float model on the same 32 images: a small positive KL, mostly the same classes.
      expect(run.kl_to_float).toBeGreaterThan(0);
      expect(run.kl_to_float).toBeLessThan(1);
      expect(run.float_agreement).toBeGreaterThan(0.5);
    }
    expect(out.float_top1).toBeGreaterThan(0.5);
    const text = await runCli(['ablate', ...TINY, '--methods', 'calib', '--bits', '4,3']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^\| method \| W4A4 top-1 \(%\) \| W4A4 KL to float \(nats\) \| W3A3 top-1 \(%\) \| W3A3 KL to float \(nats\) \|\n\|---\|---\|---\|---\|---\|\n\| calib \| \d+\.\d\d \| \d\.\d{4} \| \d+\.\d\d \| \d\.\d{4} \|/);
    expect(text.stdout).toMatch(/\nfloat model: top-1 \d+\.\d\d %\n/);
  }, 600_000);

  it('--record keeps finished runs and skips them when the command is run again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fimaq-ablate-'));
    try {
      const record = join(dir, 'runs.json');
      const first = await runCli(['ablate', ...TINY, '--methods', 'calib', '--bits', '4', '--record', record, '--json']);
      expect(first.code, first.stderr).toBe(0);
      const saved = JSON.parse(readFileSync(record, 'utf8'));
      expect(saved.runs).toHaveLength(1);
      // Provenance: the command, and per run when it ended, from which commit, on which adapter.
      expect(saved.command).toBe(`fimaq ablate ${[...TINY, '--methods', 'calib', '--bits', '4', '--record', record, '--json'].join(' ')}`);
      expect(Math.abs(Date.parse(saved.runs[0].date) - Date.now())).toBeLessThan(600_000);
      const head = execFileSync('git', ['rev-parse', '--short=7', 'HEAD'], { encoding: 'utf8' }).trim();
      expect(saved.runs[0].commit).toMatch(new RegExp(`^${head}(-dirty)?$`));
      expect(saved.runs[0].adapter).toBe(describeAdapter(JSON.parse(first.stdout).adapter));
      // A planted top-1 proves the second command reads the record instead of evaluating again.
      saved.runs[0].top1 = 0.123;
      writeFileSync(record, JSON.stringify(saved));
      const second = await runCli(['ablate', ...TINY, '--methods', 'calib,mse', '--bits', '4', '--record', record, '--json']);
      expect(second.code, second.stderr).toBe(0);
      const runs = JSON.parse(second.stdout).runs;
      expect(runs.map((x: { method: string; top1: number }) => [x.method, x.top1 === 0.123])).toEqual([['calib', true], ['mse', false]]);
      expect(JSON.parse(readFileSync(record, 'utf8')).runs).toHaveLength(2);
      const other = await runCli(['ablate', ...TINY, '--iters', '3', '--methods', 'calib', '--bits', '4', '--record', record]);
      expect(other.code).toBe(1);
      expect(other.stderr).toMatch(/runs\.json: recorded with a different settings/);
      writeFileSync(record, '{ broken');
      const broken = await runCli(['ablate', ...TINY, '--methods', 'calib', '--bits', '4', '--record', record]);
      expect(broken.code).toBe(1);
      expect(broken.stderr).toMatch(/runs\.json: not an ablation record/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);

  it('rejects bad lists with one line', async () => {
    for (const [args, pattern] of [
      [['--methods', 'calib,magic'], /--methods: 'magic' is not one of fimaq, diag-fim, lr-fim, eig-fim, brecq-fim, mse, calib/],
      [['--bits', '4,9'], /--bits: '9' is not a bit width from 2 to 8/],
      [['--seeds', '1,x'], /--seeds: 'x' is not an integer from 0 to 4294967295/],
    ] as [string[], RegExp][]) {
      const r = await runCli(['ablate', ...TINY, ...args]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
