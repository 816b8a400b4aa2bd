/**
 * An exclusive lock on a command's output (Node only): `<output>.lock`, created with O_EXCL and
 * holding who took it. Two runs writing the same output (and sharing its checkpoint folder) would
 * otherwise delete each other's checkpoints. A lock left by a process that no longer runs on this
 * host is taken over.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { FimaqError } from '../util/errors.js';

export interface LockOwner {
  pid: number;
  host: string;
  started: string;
  command: string;
  token: string;
}

export interface RunLock {
  readonly path: string;
  release(): Promise<void>;
}

export const lockPath = (output: string): string => `${output}.lock`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(path: string): LockOwner | null {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8'));
    return Number.isInteger(o.pid) && typeof o.host === 'string' && typeof o.token === 'string' ? (o as LockOwner) : null;
  } catch {
    return null;
  }
}

/**
 * Takes the lock on `output` for this process, or throws a FimaqError naming the run that holds
 * it. `command` describes this run for whoever finds the lock taken.
 */
export async function acquireLock(output: string, command: string, onStale: (owner: LockOwner) => void = () => undefined): Promise<RunLock> {
  const path = lockPath(output);
  const me: LockOwner = { pid: process.pid, host: hostname(), started: new Date().toISOString(), command, token: randomBytes(8).toString('hex') };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(`${JSON.stringify(me)}\n`);
      } finally {
        await fh.close();
      }
      return {
        path,
        async release() {
          // Only our own lock: a stale-lock takeover by another run must not be undone by us.
          if (readOwner(path)?.token === me.token) await rm(path, { force: true });
        },
      };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new FimaqError(`${path}: cannot create the output lock (${code ?? (e as Error).message})`);
    }
    const owner = readOwner(path);
    if (owner === null) {
      // A lock being written this instant reads as empty: look once more before calling it corrupt.
      await new Promise((r) => setTimeout(r, 50));
      if (readOwner(path) === null) {
        const text = await readFile(path, 'utf8').catch(() => '');
        throw new FimaqError(`${path}: an unreadable lock file (${JSON.stringify(text.slice(0, 40))}) guards ${output}; if no fimaq run is writing it, delete the lock file`);
      }
      continue;
    }
    if (owner.host === me.host && !alive(owner.pid)) {
      onStale(owner);
      // Remove it only if it is still that stale lock, not one a concurrent run just took over.
      if (readOwner(path)?.token === owner.token) await rm(path, { force: true });
      continue;
    }
    throw new FimaqError(
      `${output}: another fimaq run holds its lock (pid ${owner.pid} on ${owner.host}, since ${owner.started}: ${owner.command}); wait for it or choose another output. If that run is gone, delete ${path}`,
    );
  }
  throw new FimaqError(`${path}: the lock was taken by another run while this one started; try again`);
}
