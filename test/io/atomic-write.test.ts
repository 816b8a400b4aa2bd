import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/io/atomic-write.js';
import { FimaqError } from '../../src/util/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fimaq-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const bytes = (s: string) => new TextEncoder().encode(s);

describe('writeFileAtomic', () => {
  it('creates and replaces a file, leaving no temp files', async () => {
    const target = join(dir, 'out.bin');
    await writeFileAtomic(target, bytes('first'));
    expect(await readFile(target, 'utf8')).toBe('first');
    await writeFileAtomic(target, bytes('second'));
    expect(await readFile(target, 'utf8')).toBe('second');
    expect(await readdir(dir)).toEqual(['out.bin']);
  });

  it('writes chunks from a sync or async source in order', async () => {
    const target = join(dir, 'chunks.bin');
    await writeFileAtomic(target, [bytes('ab'), bytes('cd')]);
    expect(await readFile(target, 'utf8')).toBe('abcd');
    await writeFileAtomic(target, (async function* () {
      yield bytes('x');
      yield bytes('yz');
    })());
    expect(await readFile(target, 'utf8')).toBe('xyz');
  });

  it('keeps the old content and removes the temp file when the data source fails mid-write', async () => {
    const target = join(dir, 'model.safetensors');
    await writeFile(target, 'old content');
    async function* failing() {
      yield bytes('partial new content');
      throw new Error('source failed');
    }
    await expect(writeFileAtomic(target, failing())).rejects.toThrow('source failed');
    expect(await readFile(target, 'utf8')).toBe('old content');
    expect(await readdir(dir)).toEqual(['model.safetensors']);
  });

  it('reports a missing folder as a one-line FimaqError naming the file', async () => {
    const target = join(dir, 'no-such-folder', 'out.bin');
    const err = await writeFileAtomic(target, bytes('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FimaqError);
    expect((err as Error).message).toContain(target);
    expect((err as Error).message).toContain('ENOENT');
    expect((err as Error).message).not.toContain('\n');
    expect(await readdir(dir)).toEqual([]);
  });

  it('fails without touching the target when the target is a folder', async () => {
    const target = join(dir, 'taken');
    await writeFile(join(dir, 'keep'), 'k');
    await mkdir(target);
    await expect(writeFileAtomic(target, bytes('x'))).rejects.toBeInstanceOf(FimaqError);
    expect((await readdir(dir)).sort()).toEqual(['keep', 'taken']);
  });
});
