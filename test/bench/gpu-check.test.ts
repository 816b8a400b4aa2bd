/**
 * The GPU check's smoke test: `bash bench/gpu-check.sh --quick` (the bundled driver, run with
 * plain node) measures every section on this machine's adapter and writes its JSON. It takes one
 * to three minutes on SwiftShader, so it is in the optional slow suite (FIMAQ_SLOW_TESTS=1).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/runtime/node-gpu.js';

describe('bench/gpu-check.sh --quick', () => {
  it.runIf(process.env.FIMAQ_SLOW_TESTS === '1')('measures every section and writes one JSON', () => {
    const out = mkdtempSync(join(tmpdir(), 'gpu-check-'));
    try {
      execFileSync('bash', ['bench/gpu-check.sh', '--quick'], { cwd: PACKAGE_ROOT, env: { ...process.env, OUT: out }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
      const files = readdirSync(out).filter((f) => f.endsWith('.json'));
      expect(files).toHaveLength(1);
      const r = JSON.parse(readFileSync(join(out, files[0]), 'utf8'));
      expect(r.mode).toBe('quick');
      expect(r.errors).toEqual([]);
      expect(r.skipped).toEqual([]);
      expect(r.adapter.vendor).toBeTruthy();
      const s = r.sections;
      for (const m of [...s.matmul.shapes, ...s.matmul_bounds_checks_off.shapes]) expect(m.gflops_per_second).toBeGreaterThan(0);
      expect(s.matmul.shapes.map((m: { name: string }) => m.name)).toEqual(['qkv', 'proj', 'fc1', 'fc2', 'attention q.kT', 'attention attn.v']);
      expect(s.forward.rows.map((f: { precision: string; batch: number }) => `${f.precision} ${f.batch}`)).toEqual(['float32 1', 'W4A4 integer 1', 'float32 8', 'W4A4 integer 8']);
      for (const f of s.forward.rows) expect(f.median_ms).toBeGreaterThan(0);
      expect(s.reconstruction.mse.seconds_per_step).toBeGreaterThan(0);
      // Differences of wall-clock runs: finite, though noise on a busy CPU can push them either way.
      expect(Number.isFinite(s.reconstruction.fimaq.seconds_per_step)).toBe(true);
      expect(Number.isFinite(s.reconstruction.fisher_snapshot.seconds)).toBe(true);
      expect(s.calibration.unit_seconds).toBeGreaterThan(0);
      expect(Object.keys(s.calibration.stages)).toEqual(['patch_embed', 'blocks.0', 'head']);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
