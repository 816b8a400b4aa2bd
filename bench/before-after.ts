/**
 * Same-run speed ratios of the current tree against an earlier commit, on this machine's adapter:
 * bench/speed-probe.ts (the demo's calibration search per unit, reconstruction steps of blocks.0)
 * runs in a worktree of `--before` and in this tree, alternately, `--rounds` times each, so both
 * see the same load. Each tree runs with its own defaults (bounds checks included).
 * Writes bench/results/before-after-<vendor>.json. Run: npm run bench:before-after -- --before <commit> [--rounds N]
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/runtime/node-gpu.js';
import { sourceCommit } from '../src/io/source-commit.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const before = arg('before');
if (!before) throw new Error('bench:before-after: --before <commit> is required');
const rounds = Number(arg('rounds') ?? '1');
const git = (...a: string[]) => execFileSync('git', a, { cwd: PACKAGE_ROOT }).toString().trim();
const beforeCommit = git('rev-parse', '--short', before);
const afterCommit = sourceCommit();

interface Probe {
  adapter: { vendor: string; architecture: string; description: string; backend: string };
  calibration_seconds: Record<string, number>;
  recon_step_seconds: { mse: number; fimaq: number };
}

const dir = mkdtempSync(join(tmpdir(), 'fimaq-before-'));
const tree = join(dir, 'tree');
git('worktree', 'add', '--detach', tree, beforeCommit);
try {
  symlinkSync(join(PACKAGE_ROOT, 'node_modules'), join(tree, 'node_modules'));
  copyFileSync(join(PACKAGE_ROOT, 'bench', 'speed-probe.ts'), join(tree, 'bench', 'speed-probe.ts'));
  const probe = (root: string): Probe => {
    process.stderr.write(`probe in ${root === tree ? beforeCommit : 'this tree'}\n`);
    const out = execFileSync(join(PACKAGE_ROOT, 'node_modules', '.bin', 'vite-node'), ['bench/speed-probe.ts'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] }).toString();
    return JSON.parse(out.trim().split('\n').pop() as string) as Probe;
  };
  const runs: { before: Probe[]; after: Probe[] } = { before: [], after: [] };
  for (let r = 0; r < rounds; r++) {
    runs.before.push(probe(tree));
    runs.after.push(probe(PACKAGE_ROOT));
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const units = Object.keys(runs.after[0].calibration_seconds).filter((u) => u !== 'done');
  const calibration = Object.fromEntries(
    units.map((u) => {
      const b = mean(runs.before.map((p) => p.calibration_seconds[u]));
      const a = mean(runs.after.map((p) => p.calibration_seconds[u]));
      return [u, { before_seconds: b, after_seconds: a, speedup: b / a }];
    }),
  );
  const recon = Object.fromEntries(
    (['mse', 'fimaq'] as const).map((m) => {
      const b = mean(runs.before.map((p) => p.recon_step_seconds[m]));
      const a = mean(runs.after.map((p) => p.recon_step_seconds[m]));
      return [m, { before_seconds: b, after_seconds: a, speedup: b / a }];
    }),
  );
  const record = {
    command: `npm run bench:before-after -- --before ${before} --rounds ${rounds}`,
    before: beforeCommit,
    after: afterCommit,
    date: new Date().toISOString(),
    adapter: runs.after[0].adapter,
    backends: { before: runs.before[0].adapter.backend, after: runs.after[0].adapter.backend },
    what: 'demo model, W4A4: calibration search per unit (quick preset: 8 images, 32 candidates, 1 round) and seconds per reconstruction step of blocks.0 (batch 8, 64 cached images, 40 steps; FIMA-Q with one snapshot at the start); each tree with its own defaults; means over the rounds, run alternately',
    calibration,
    recon_step: recon,
    runs,
  };
  const file = join(PACKAGE_ROOT, 'bench', 'results', `before-after-${(record.adapter.vendor || 'unknown').replace(/\W+/g, '-')}.json`);
  mkdirSync(join(PACKAGE_ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  for (const [u, c] of Object.entries(calibration)) console.log(`calibration ${u.padEnd(12)} ${c.before_seconds.toFixed(2)} s -> ${c.after_seconds.toFixed(2)} s (${c.speedup.toFixed(2)}x)`);
  for (const [m, c] of Object.entries(recon)) console.log(`recon step ${m.padEnd(6)} ${(1000 * c.before_seconds).toFixed(0)} ms -> ${(1000 * c.after_seconds).toFixed(0)} ms (${c.speedup.toFixed(2)}x)`);
  console.log(`wrote ${file}`);
} finally {
  git('worktree', 'remove', '--force', tree);
  rmSync(dir, { recursive: true, force: true });
}
