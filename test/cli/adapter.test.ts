/** Adapter reporting, and the error a user sees on a machine with no usable Vulkan driver. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/runtime/node-gpu.js';
import { runCli } from '../helpers/cli.js';

function runInChild(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(join(PACKAGE_ROOT, 'node_modules', '.bin', 'vite-node'), [join(PACKAGE_ROOT, 'test', 'helpers', 'cli-entry.ts'), ...args], {
    cwd: PACKAGE_ROOT,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('fimaq adapter', () => {
  it('reports the adapter as JSON', async () => {
    const r = await runCli(['adapter', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(typeof j.adapter.vendor).toBe('string');
    expect(typeof j.adapter.fallback).toBe('boolean');
    expect(['timestamp-query', 'wall-clock']).toContain(j.timing);
  });

  it('explains what to install when no adapter exists', () => {
    const r = runInChild(['adapter'], { ...process.env, VK_ICD_FILENAMES: '/nonexistent/icd.json' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^fimaq: no WebGPU adapter found: install .*apt-get install -y chromium libvulkan1/m);
  });
});
