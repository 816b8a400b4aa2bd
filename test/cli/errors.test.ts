/** Bad input gives one clear line naming the file or folder and the problem, and exit code 1. */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_MODEL_DIR } from '../../src/cli/common.js';
import { expectOneLineError, runCli } from '../helpers/cli.js';

function demoCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fimaq-cli-'));
  copyFileSync(join(DEMO_MODEL_DIR, 'config.json'), join(dir, 'config.json'));
  copyFileSync(join(DEMO_MODEL_DIR, 'model.safetensors'), join(dir, 'model.safetensors'));
  return dir;
}


describe('CLI errors', () => {
  it('corrupted safetensors header', async () => {
    const dir = demoCopy();
    const file = join(dir, 'model.safetensors');
    const bytes = readFileSync(file);
    bytes.write('#', 12); // breaks the JSON header
    writeFileSync(file, bytes);
    expectOneLineError(await runCli(['info', '--model', dir]), /model\.safetensors.*(JSON|header)/i);
  });

  it('truncated safetensors', async () => {
    const dir = demoCopy();
    const file = join(dir, 'model.safetensors');
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length - 1000));
    expectOneLineError(await runCli(['info', '--model', dir]), /model\.safetensors.*truncated/);
  });

  it('unknown architecture in config.json', async () => {
    const dir = demoCopy();
    const cfgPath = join(dir, 'config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
    cfg.architecture = 'convnext_tiny';
    writeFileSync(cfgPath, JSON.stringify(cfg));
    expectOneLineError(await runCli(['info', '--model', dir]), /config\.json.*architecture.*convnext_tiny/);
  });

  it('a Swin config.json over ViT weights', async () => {
    const dir = demoCopy();
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ architecture: 'swin_tiny_patch4_window7_224' }));
    expectOneLineError(await runCli(['info', '--model', dir]), /model\.safetensors: does not match swin_tiny_patch4_window7_224 from config\.json: missing tensors: patch_embed\.norm\.weight/);
  });

  it('missing data folder', async () => {
    expectOneLineError(await runCli(['eval', '--model', 'demo', '--data', '/nonexistent/images']), /\/nonexistent\/images/);
  });

  it('missing model folder', async () => {
    expectOneLineError(await runCli(['info', '--model', '/nonexistent/model']), /\/nonexistent\/model/);
  });

  it('bad option values and unknown commands', async () => {
    expectOneLineError(await runCli(['eval', '--model', 'demo', '--data', 'fashion-mnist', '--batch', '0']), /--batch must be a positive integer/);
    expect((await runCli(['frobnicate'])).code).toBe(2);
    expect((await runCli(['eval', '--no-such-flag'])).code).toBe(2);
  });
});
