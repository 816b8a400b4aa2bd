/**
 * Who owns `<out>` and `<out>.partial/` (issue [E8]): a run holds `<out>.lock`, so a second run
 * with the same output is refused, a stale lock is taken over; a plain rerun never overwrites a
 * resumable checkpoint; and --resume trusts nothing in the checkpoint folder.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readQuantizedModel, writeQuantizedModel } from '../../src/io/quantized-file-node.js';
import { parseSafetensors, serializeSafetensors, toFloat32 } from '../../src/io/safetensors.js';
import { PACKAGE_ROOT } from '../../src/runtime/node-gpu.js';
import { type CliResult, runCli } from '../helpers/cli.js';

const TINY = ['--model', 'demo', '--method', 'mse', '--preset', 'quick', '--calib-size', '16', '--search-size', '2', '--search-candidates', '16', '--batch', '4', '--iters', '6', '--report-every', '1'];
const RTN = ['--model', 'demo', '--method', 'rtn', '--calib-size', '8'];

const tempDir = () => mkdtempSync(join(tmpdir(), 'fimaq-safety-'));
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function expectOneLineError(r: CliResult, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(1);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines[lines.length - 1]).toMatch(pattern);
  expect(lines.filter((l) => l.startsWith('fimaq: '))).toHaveLength(1);
}

describe('output lock', () => {
  it('a run whose lock is held by a live process is refused, naming it', async () => {
    const out = join(tempDir(), 'q.safetensors');
    const lock = JSON.stringify({ pid: process.pid, host: hostname(), started: '2026-01-01T00:00:00.000Z', command: 'fimaq quantize (the other run)', token: 'abc' });
    writeFileSync(`${out}.lock`, lock);
    expectOneLineError(await runCli(['quantize', ...RTN, '--out', out]), new RegExp(`another fimaq run holds its lock \\(pid ${process.pid} on ${hostname()}, since 2026-01-01T00:00:00.000Z: fimaq quantize \\(the other run\\)\\)`));
    expect(readFileSync(`${out}.lock`, 'utf8')).toBe(lock);
    expect(existsSync(out)).toBe(false);
    writeFileSync(`${out}.lock`, 'garbage');
    expectOneLineError(await runCli(['quantize', ...RTN, '--out', out]), /an unreadable lock file .* if no fimaq run is writing it, delete the lock file/);
  });

  it('the lock of a process that has ended is taken over, and released when the run ends', async () => {
    const out = join(tempDir(), 'q.safetensors');
    const child = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => child.on('exit', r));
    writeFileSync(`${out}.lock`, JSON.stringify({ pid: child.pid, host: hostname(), started: '2026-01-01T00:00:00.000Z', command: 'a killed run', token: 'abc' }));
    const r = await runCli(['quantize', ...RTN, '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`taking over the lock of pid ${child.pid}, which no longer runs \\(a killed run\\)`));
    expect(existsSync(out)).toBe(true);
    expect(existsSync(`${out}.lock`)).toBe(false);
  });
});

describe('checkpoints of an interrupted run', () => {
  let killedOut = '';

  /** A copy of the killed run's checkpoint under a new --out, edited by `edit`. */
  async function variant(edit: (partial: string) => Promise<void> | void): Promise<string> {
    const out = join(tempDir(), 'q.safetensors');
    cpSync(`${killedOut}.partial`, `${out}.partial`, { recursive: true });
    await edit(`${out}.partial`);
    return out;
  }

  async function editResume(partial: string, change: Record<string, unknown>): Promise<void> {
    const path = join(partial, 'state.safetensors');
    const q = await readQuantizedModel(path);
    const resume = q.info.details!.resume as Record<string, unknown>;
    await writeQuantizedModel(path, { ...q, info: { ...q.info, details: { ...q.info.details, resume: { ...resume, ...change } } } });
  }

  /** Rewrites float.safetensors through `edit` and records the new digest, as if written by a buggy version. */
  async function editFloat(partial: string, edit: (tensors: Map<string, Float32Array>) => void): Promise<void> {
    const path = join(partial, 'float.safetensors');
    const parsed = parseSafetensors(readFileSync(path), path);
    const tensors = new Map([...parsed.tensors].map(([k, t]) => [k, toFloat32(t, k, path)]));
    edit(tensors);
    const bytes = serializeSafetensors(Object.fromEntries([...tensors].map(([k, data]) => [k, { dtype: 'F32' as const, shape: [data.length], data }])));
    writeFileSync(path, bytes);
    await editResume(partial, { float_sha256: sha256(bytes) });
  }

  beforeAll(async () => {
    killedOut = join(tempDir(), 'killed.safetensors');
    // Run from source in a child process and kill it once the first unit is done.
    const child = spawn(join(PACKAGE_ROOT, 'node_modules', '.bin', 'vite-node'), [join(PACKAGE_ROOT, 'test', 'helpers', 'cli-entry.ts'), 'quantize', ...TINY, '--out', killedOut], {
      cwd: PACKAGE_ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (/blocks\.0 1\/6/.test(stderr) && child.exitCode === null) child.kill('SIGKILL');
      });
      child.on('close', () => (existsSync(join(`${killedOut}.partial`, 'state.safetensors')) ? resolve() : reject(new Error(`no checkpoint:\n${stderr}`))));
    });
  }, 300_000);

  it('a plain rerun refuses to overwrite the checkpoint; --resume and --fresh together are refused', async () => {
    const out = await variant(() => undefined);
    const state = sha256(readFileSync(join(`${out}.partial`, 'state.safetensors')));
    expectOneLineError(await runCli(['quantize', ...TINY, '--out', out]), /q\.safetensors\.partial: holds the checkpoint of an unfinished run \(mse, 1 units done\); --resume continues it, --fresh discards it/);
    expect(sha256(readFileSync(join(`${out}.partial`, 'state.safetensors')))).toBe(state);
    expectOneLineError(await runCli(['quantize', ...TINY, '--out', out, '--resume', '--fresh']), /give one of them/);
    expect(existsSync(`${out}.lock`)).toBe(false);
  });

  it('--resume refuses a units-done counter that is not an integer from 0 to the unit count', async () => {
    for (const done of [99, 2.5, -1, '1']) {
      const out = await variant((p) => editResume(p, { done }));
      expectOneLineError(await runCli(['quantize', ...TINY, '--out', out, '--resume']), new RegExp(`state\\.safetensors: resume record says ${JSON.stringify(done)} units done; expected an integer from 0 to 6`));
      expect(existsSync(out)).toBe(false);
    }
  });

  it('--resume refuses float weights that changed, lack a tensor or have one of the wrong size', async () => {
    const changed = await variant((p) => {
      const path = join(p, 'float.safetensors');
      const bytes = readFileSync(path);
      bytes[bytes.length - 5] ^= 0x10;
      writeFileSync(path, bytes);
    });
    expectOneLineError(await runCli(['quantize', ...TINY, '--out', changed, '--resume']), /float\.safetensors: does not match the digest its state file recorded/);
    const missing = await variant((p) => editFloat(p, (t) => t.delete('blocks.1.attn.proj.bias')));
    expectOneLineError(await runCli(['quantize', ...TINY, '--out', missing, '--resume']), /float\.safetensors: tensors do not match the model: missing blocks\.1\.attn\.proj\.bias/);
    const short = await variant((p) => editFloat(p, (t) => t.set('norm.weight', new Float32Array(63).fill(1))));
    expectOneLineError(await runCli(['quantize', ...TINY, '--out', short, '--resume']), /float\.safetensors: tensor 'norm\.weight' has 63 values; the model needs 64/);
    const nan = await variant((p) => editFloat(p, (t) => t.get('head.bias')!.fill(NaN, 3, 4)));
    expectOneLineError(await runCli(['quantize', ...TINY, '--out', nan, '--resume']), /float\.safetensors: tensor 'head\.bias' has a non-finite value \(NaN\) at index 3/);
  });

  it('the fingerprint covers the float weights: another model with the same config cannot resume it', async () => {
    const model = tempDir();
    cpSync(join(PACKAGE_ROOT, 'demo', 'fashion-vit'), model, { recursive: true });
    const weights = readFileSync(join(model, 'model.safetensors'));
    weights[weights.length - 3] ^= 0x01;
    writeFileSync(join(model, 'model.safetensors'), weights);
    const out = await variant(() => undefined);
    const args = [...TINY.map((a) => (a === 'demo' ? model : a)), '--calib', 'fashion-mnist:train'];
    expectOneLineError(await runCli(['quantize', ...args, '--out', out, '--resume']), /the checkpoint is of a run with other settings, inputs or data/);
  });

  it('a GPU device lost mid-run stops with one line saying --resume continues, and it does', async () => {
    const out = join(tempDir(), 'lost.safetensors');
    const child = spawn(join(PACKAGE_ROOT, 'node_modules', '.bin', 'vite-node'), [join(PACKAGE_ROOT, 'test', 'helpers', 'cli-entry.ts'), 'quantize', ...TINY, '--out', out], {
      cwd: PACKAGE_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FIMAQ_LOSE_DEVICE_AFTER_UNITS: '2' },
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(1);
    expect(stdout).toBe('');
    const errors = stderr.split('\n').filter((l) => l.startsWith('fimaq: '));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^fimaq: the GPU device was lost .*; the checkpoint in .*lost\.safetensors\.partial keeps 2 finished units, and resuming continues after them: run the same command with --resume$/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.lock`)).toBe(false);
    const resumed = await runCli(['quantize', ...TINY, '--out', out, '--resume', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ resumed_at_unit: 2 });
  }, 300_000);

  it('--fresh discards the checkpoint and starts over', async () => {
    const out = await variant(() => undefined);
    const r = await runCli(['quantize', ...TINY, '--out', out, '--fresh', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/resuming/);
    expect(JSON.parse(r.stdout)).toMatchObject({ resumed_at_unit: 0 });
    expect(existsSync(`${out}.partial`)).toBe(false);
    expect((await readQuantizedModel(out)).info.method).toBe('mse');
  }, 300_000);
});
