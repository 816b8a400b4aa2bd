/**
 * The Node RunStore: checkpoint files in `<out>.partial/` (float.safetensors, state.safetensors)
 * and the output file itself, each written to a temp file and renamed into place.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckpointFile, RunStore } from './run-store.js';
import { writeFileAtomic } from './atomic-write.js';

export const checkpointFolder = (out: string): string => `${out}.partial`;

export class FolderStore implements RunStore {
  readonly where: string;
  readonly outputName: string;
  constructor(out: string) {
    this.where = checkpointFolder(out);
    this.outputName = out;
  }

  private path(file: CheckpointFile): string {
    return join(this.where, `${file}.safetensors`);
  }

  async read(file: CheckpointFile): Promise<Uint8Array | null> {
    try {
      return await readFile(this.path(file));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async write(file: CheckpointFile, bytes: Uint8Array): Promise<void> {
    await mkdir(this.where, { recursive: true });
    await writeFileAtomic(this.path(file), bytes);
  }

  async writeOutput(bytes: Uint8Array): Promise<void> {
    await writeFileAtomic(this.outputName, bytes);
  }

  async clear(): Promise<void> {
    await rm(this.where, { recursive: true, force: true });
  }
}
