/**
 * Crash-safe file replacement for Node: readers see either the old file or the complete new one,
 * never a partial write.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FimaqError } from '../util/errors.js';

/** Bytes, or chunks produced on the fly (a chunk source that throws aborts the write). */
export type WriteData = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/**
 * Writes `data` to a temporary file next to `path` (`.<name>.tmp-<pid>-<random>`), fsyncs it and
 * renames it over `path`. The temp file lives in the same folder so the rename stays on one file
 * system and is atomic. On any failure the temp file is removed and an existing `path` is untouched.
 */
export async function writeFileAtomic(path: string, data: WriteData): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, 'wx');
    await writeFile(fh, data);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, path);
  } catch (e) {
    await fh?.close().catch(() => undefined);
    await rm(tmp, { force: true }).catch(() => undefined);
    // System errors (ENOENT, EACCES, ENOSPC...) are the user's environment; anything else is rethrown as is.
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && !(e instanceof FimaqError)) {
      throw new FimaqError(`${path}: cannot write file (${code}: ${(e as Error).message.replace(/\s*\n\s*/g, ' ')})`);
    }
    throw e;
  }
}
