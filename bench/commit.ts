/**
 * The commit a benchmark record describes: HEAD, with "-dirty" when the source differs from it.
 * Records under bench/results/ do not count, so benchmarks run one after the other on a clean
 * tree all name the commit they measured. "unknown" where there is no git (a lent GPU machine
 * running the bundled gpu-check).
 */
import { execFileSync } from 'node:child_process';
import { PACKAGE_ROOT } from '../src/runtime/node-gpu.js';

export function sourceCommit(): string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  try {
    const dirty = git('status', '--porcelain', '--', '.', ':(exclude)bench/results') !== '';
    return `${git('rev-parse', '--short=7', 'HEAD')}${dirty ? '-dirty' : ''}`;
  } catch {
    return 'unknown';
  }
}
