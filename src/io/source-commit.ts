/**
 * The commit a record describes (Node only): the package's git HEAD, with "-dirty" when the
 * source differs from it. Records under bench/results/ do not count, so runs one after the other
 * on a clean tree all name the commit they measured. "unknown" where the package is not its own
 * git checkout (an installed package, a lent GPU machine running the bundled gpu-check): a
 * surrounding project's repository says nothing about this code.
 */
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { PACKAGE_ROOT } from '../runtime/node-gpu.js';

export function sourceCommit(): string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  try {
    if (realpathSync(git('rev-parse', '--show-toplevel')) !== realpathSync(PACKAGE_ROOT)) return 'unknown';
    const dirty = git('status', '--porcelain', '--', '.', ':(exclude)bench/results') !== '';
    return `${git('rev-parse', '--short=7', 'HEAD')}${dirty ? '-dirty' : ''}`;
  } catch {
    return 'unknown';
  }
}
