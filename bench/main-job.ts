/**
 * The README's main job, timed: the two `fimaq` commands of scripts/demo.sh (info, then quantize
 * of the demo ViT to W4A4 with FIMA-Q's quick preset and top-1 of the float, calibration-only
 * and FIMA-Q models on the 10,000 Fashion-MNIST test images), run as child processes with
 * `--json` and a scratch --out, the install (scripts/setup.sh) not counted. Evaluation seconds are
 * what quantize takes beyond its calibration and reconstruction. Run it with nothing else on the
 * machine. Writes bench/results/main-job-<adapter>.json. Run: npm run bench:main-job
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/runtime/node-gpu.js';
import { sourceCommit } from '../src/io/source-commit.js';

const cli = join(PACKAGE_ROOT, 'bin', 'fimaq.js');
const scratch = mkdtempSync(join(tmpdir(), 'fimaq-main-job-'));
const out = join(scratch, 'demo-fimaq-w4a4.safetensors');
const info = ['info', '--model', 'demo'];
const quantize = ['quantize', '--model', 'demo', '--preset', 'quick', '--wbits', '4', '--abits', '4', '--out', out, '--eval', 'fashion-mnist:test', '--fresh', '--json'];

function timed(args: string[]): { seconds: number; stdout: string } {
  const start = performance.now();
  const stdout = execFileSync(process.execPath, [cli, ...args], { cwd: PACKAGE_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  return { seconds: (performance.now() - start) / 1000, stdout };
}

try {
  const a = timed(info);
  const q = timed(quantize);
  const r = JSON.parse(q.stdout);
  const record = {
    bench: 'main-job',
    command: 'npm run bench:main-job',
    commands: [`fimaq ${info.join(' ')}`, `fimaq ${quantize.join(' ').replace(out, 'demo-fimaq-w4a4.safetensors')}`],
    commit: sourceCommit(),
    date: new Date().toISOString(),
    adapter: r.adapter,
    seconds: a.seconds + q.seconds,
    phases_seconds: {
      info: a.seconds,
      calibration: r.calib_seconds,
      reconstruction: r.recon_seconds,
      evaluation_three_models: q.seconds - r.calib_seconds - r.recon_seconds,
    },
    top1: { float: r.eval.float, calib: r.eval.calib, quantized: r.eval.quantized, images: r.eval.count },
    units: r.units,
  };
  const p = record.phases_seconds;
  console.log(
    `main job: ${(record.seconds / 60).toFixed(1)} min (calibration ${p.calibration.toFixed(0)} s, reconstruction ${p.reconstruction.toFixed(0)} s, ` +
      `three evaluations on ${r.eval.count} images ${p.evaluation_three_models.toFixed(0)} s); top-1 float ${(100 * r.eval.float).toFixed(2)} %, ` +
      `calib ${(100 * r.eval.calib).toFixed(2)} %, fimaq ${(100 * r.eval.quantized).toFixed(2)} %`,
  );
  const dir = join(PACKAGE_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `main-job-${String(r.adapter.architecture || r.adapter.vendor || 'unknown').replace(/\W+/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  console.log(`wrote ${file}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
