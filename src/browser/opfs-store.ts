/**
 * The browser RunStore: a run's checkpoint and output in the origin private file system, one
 * directory per run, so a reload or a closed tab loses at most the unit in progress. Files are
 * replaced through `createWritable()`, which writes aside and swaps the file in on close: a reader
 * sees the old bytes or the new ones. The directory also keeps whatever the app needs to restart
 * the run (its request, the calibration images), through `readExtra` / `writeExtra`.
 */
import { CHECKPOINT_FILES, type CheckpointFile, type RunStore } from '../io/run-store.js';

const ROOT = 'fimaq-runs';

async function runsRoot(): Promise<FileSystemDirectoryHandle> {
  if (!navigator.storage?.getDirectory) throw new Error('this browser has no origin private file system (navigator.storage.getDirectory)');
  return (await navigator.storage.getDirectory()).getDirectoryHandle(ROOT, { create: true });
}

async function readFile(dir: FileSystemDirectoryHandle, name: string): Promise<Uint8Array | null> {
  try {
    const file = await (await dir.getFileHandle(name)).getFile();
    return new Uint8Array(await file.arrayBuffer());
  } catch (e) {
    if ((e as DOMException).name === 'NotFoundError') return null;
    throw e;
  }
}

async function writeFile(dir: FileSystemDirectoryHandle, name: string, bytes: Uint8Array): Promise<void> {
  const writable = await (await dir.getFileHandle(name, { create: true })).createWritable();
  try {
    await writable.write(bytes as Uint8Array<ArrayBuffer>);
    await writable.close();
  } catch (e) {
    await writable.abort().catch(() => undefined);
    throw e;
  }
}

export class OpfsStore implements RunStore {
  readonly where: string;
  readonly outputName: string;
  private constructor(private readonly dir: FileSystemDirectoryHandle, readonly run: string) {
    this.where = `browser storage ${ROOT}/${run}`;
    this.outputName = `${this.where}/output.safetensors`;
  }

  /** The store of run `run` (created when missing). */
  static async open(run: string): Promise<OpfsStore> {
    return new OpfsStore(await (await runsRoot()).getDirectoryHandle(run, { create: true }), run);
  }

  /** The runs that have a directory, e.g. to offer resuming one after a reload. */
  static async runs(): Promise<string[]> {
    const names: string[] = [];
    for await (const [name, handle] of (await runsRoot()) as unknown as AsyncIterable<[string, FileSystemHandle]>) if (handle.kind === 'directory') names.push(name);
    return names.sort();
  }

  /** Deletes run `run` entirely: checkpoint, output and extras. */
  static async remove(run: string): Promise<void> {
    await (await runsRoot()).removeEntry(run, { recursive: true }).catch((e: DOMException) => {
      if (e.name !== 'NotFoundError') throw e;
    });
  }

  read(file: CheckpointFile): Promise<Uint8Array | null> {
    return readFile(this.dir, `${file}.safetensors`);
  }

  write(file: CheckpointFile, bytes: Uint8Array): Promise<void> {
    return writeFile(this.dir, `${file}.safetensors`, bytes);
  }

  writeOutput(bytes: Uint8Array): Promise<void> {
    return writeFile(this.dir, 'output.safetensors', bytes);
  }

  readOutput(): Promise<Uint8Array | null> {
    return readFile(this.dir, 'output.safetensors');
  }

  async clear(): Promise<void> {
    for (const file of CHECKPOINT_FILES) {
      await this.dir.removeEntry(`${file}.safetensors`).catch((e: DOMException) => {
        if (e.name !== 'NotFoundError') throw e;
      });
    }
  }

  /** Other files of the run (the app's request, the calibration images), by name. */
  readExtra(name: string): Promise<Uint8Array | null> {
    return readFile(this.dir, name);
  }

  writeExtra(name: string, bytes: Uint8Array): Promise<void> {
    return writeFile(this.dir, name, bytes);
  }
}
