/**
 * `fimaq quantize --method mse` on the demo model with tiny settings: a run killed in the middle
 * of a unit resumes from its checkpoint with --resume and writes a valid file; bad options fail.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readQuantizedModel } from '../../src/io/quantized-file-node.js';
import { PACKAGE_ROOT } from '../../src/runtime/node-gpu.js';
import { runCli } from '../helpers/cli.js';

const TINY = ['--model', 'demo', '--method', 'mse', '--preset', 'quick', '--calib-size', '16', '--search-size', '2', '--batch', '4', '--iters', '12', '--report-every', '1'];

describe('fimaq quantize --method mse', () => {
  it('resumes a run killed mid-unit and finishes with a valid file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fimaq-mse-'));
    const out = join(dir, 'demo-mse.safetensors');
    // Run from source in a child process and kill it once block 1 is being optimised.
    const child = spawn(join(PACKAGE_ROOT, 'node_modules', '.bin', 'vite-node'), [join(PACKAGE_ROOT, 'test', 'helpers', 'cli-entry.ts'), 'quantize', ...TINY, '--out', out], {
      cwd: PACKAGE_ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    const killed = await new Promise<boolean>((resolveKilled) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (/blocks\.1 5\/12/.test(stderr) && child.exitCode === null) {
          child.kill('SIGKILL');
          resolveKilled(true);
        }
      });
      child.on('exit', () => resolveKilled(false));
    });
    expect(killed, `the run ended before it could be killed:\n${stderr}`).toBe(true);
    await new Promise((r) => child.on('close', r));
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(`${out}.partial`, 'state.safetensors'))).toBe(true);

    const resumed = await runCli(['quantize', ...TINY, '--out', out, '--resume', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming from .* after 2 finished units/);
    const summary = JSON.parse(resumed.stdout);
    expect(summary).toMatchObject({ method: 'mse', resumed_at_unit: 2, output: out });
    expect(summary.units.map((u: { unit: string }) => u.unit)).toEqual(['blocks.1', 'blocks.2', 'blocks.3', 'head']);
    expect(existsSync(`${out}.partial`)).toBe(false);
    const file = await readQuantizedModel(out);
    expect(file.info).toMatchObject({ method: 'mse', wbits: 4, abits: 4, calibSize: 16 });
    const e = await runCli(['eval', '--model', out, '--data', 'fashion-mnist:test', '--limit', '32', '--json']);
    expect(e.code).toBe(0);
    expect(JSON.parse(e.stdout).top1).toBeGreaterThan(0.5);
  }, 900_000);

  it('rejects bad reconstruction options with one line', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'fimaq-mse-')), 'x.safetensors');
    for (const [args, pattern] of [
      [['--preset', 'slow'], /--preset must be one of paper, quick, got 'slow'/],
      [['--drop-prob', '0'], /--drop-prob must be a probability in \(0, 1\], got '0'/],
      [['--lr-round', 'fast'], /--lr-round must be a positive number, got 'fast'/],
      [['--iters', '0'], /--iters must be a positive integer, got '0'/],
    ] as [string[], RegExp][]) {
      const r = await runCli(['quantize', '--model', 'demo', '--method', 'mse', ...args, '--out', out]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(existsSync(out)).toBe(false);
  });
});
