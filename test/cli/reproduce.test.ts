/**
 * `fimaq quantize --reproduce`: a file records everything that made it, and rerunning it gives the
 * same bytes; other float weights, other images, or a file that does not match its own record are
 * reported, not silently accepted.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MODEL_DIR } from '../../src/cli/common.js';
import { readQuantizedModel, writeQuantizedModel } from '../../src/io/quantized-file-node.js';
import { expectOneLineError, runCli } from '../helpers/cli.js';

const TINY = ['--preset', 'quick', '--calib-size', '8', '--search-size', '2', '--search-candidates', '16', '--batch', '4', '--iters', '3', '--k', '1', '--seed', '5'];

describe('fimaq quantize --reproduce', () => {
  let file = '';
  const dir = mkdtempSync(join(tmpdir(), 'fimaq-reproduce-'));

  beforeAll(async () => {
    file = join(dir, 'made.safetensors');
    const r = await runCli(['quantize', '--model', 'demo', ...TINY, '--out', file]);
    expect(r.code, r.stderr).toBe(0);
  }, 300_000);

  it('reruns the recorded settings on the same inputs to the same bytes', async () => {
    const out = join(dir, 'again.safetensors');
    const r = await runCli(['quantize', '--reproduce', file, '--model', 'demo', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ reproduce: file, identical: true, differences: [], method: 'fimaq', seed: 5 });
    expect(readFileSync(out)).toEqual(readFileSync(file));
  }, 300_000);

  it('reports a file whose record does not give its bytes, naming what differs', async () => {
    // The record claims 2 iterations per unit: the file's own tensors no longer follow from it.
    const edited = join(dir, 'edited.safetensors');
    const q = await readQuantizedModel(file);
    const details = q.info.details as { settings: { iters: number } };
    await writeQuantizedModel(edited, { ...q, info: { ...q.info, details: { ...details, settings: { ...details.settings, iters: 2 } } } });
    const r = await runCli(['quantize', '--reproduce', edited, '--model', 'demo', '--json']);
    expect(r.code).toBe(1);
    const summary = JSON.parse(r.stdout);
    expect(summary.identical).toBe(false);
    expect(summary.differences.length).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/^fimaq: the reproduction of .*edited\.safetensors is not byte-identical/m);
  }, 300_000);

  it('refuses other float weights, other images, and options the file records itself', async () => {
    const model = mkdtempSync(join(tmpdir(), 'fimaq-reproduce-model-'));
    cpSync(DEMO_MODEL_DIR, model, { recursive: true });
    const weights = readFileSync(join(model, 'model.safetensors'));
    weights[weights.length - 2] ^= 1;
    writeFileSync(join(model, 'model.safetensors'), weights);
    expectOneLineError(await runCli(['quantize', '--reproduce', file, '--model', model]), /was made from other float weights than .* \(model_sha256 differs\)/);
    expectOneLineError(await runCli(['quantize', '--reproduce', file, '--model', 'demo', '--calib', 'fashion-mnist:test']), /was calibrated on other images than those of fashion-mnist:test chosen now \(calib_sha256 differs\)/);
    expectOneLineError(await runCli(['quantize', '--reproduce', file, '--model', 'demo', '--iters', '5']), /--iters does not apply with --reproduce/);
  }, 300_000);
});
