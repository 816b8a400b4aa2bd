/**
 * Where a quantize run (src/pipeline) keeps its per-unit checkpoints and writes its output: files in
 * `<out>.partial/` with atomic renames in Node (src/io/run-store-node.ts), the origin private file
 * system in the browser (src/browser/opfs-store.ts). The pipeline only sees this interface.
 */

/**
 * The files of a checkpoint: the float weights the run started from, the model so far, and the
 * calibration-only model (so that a resumed run can still compare with it).
 */
export const CHECKPOINT_FILES = ['float', 'state', 'calibrated'] as const;
export type CheckpointFile = (typeof CHECKPOINT_FILES)[number];

export interface RunStore {
  /** Where the checkpoint lives, for messages (a folder, an OPFS directory). */
  readonly where: string;
  /** The output's name, for messages. */
  readonly outputName: string;
  /** A checkpoint file's bytes, or null when it does not exist. */
  read(file: CheckpointFile): Promise<Uint8Array | null>;
  /** Replaces a checkpoint file as a whole: a reader sees the old bytes or the new ones. */
  write(file: CheckpointFile, bytes: Uint8Array): Promise<void>;
  /** Replaces the output as a whole. */
  writeOutput(bytes: Uint8Array): Promise<void>;
  /** Deletes the checkpoint (not the output). */
  clear(): Promise<void>;
}

/** A store that keeps everything in memory: tests, and runs whose output the caller handles. */
export class MemoryStore implements RunStore {
  readonly files = new Map<CheckpointFile, Uint8Array>();
  output: Uint8Array | null = null;
  constructor(readonly where = 'memory', readonly outputName = 'output') {}
  async read(file: CheckpointFile): Promise<Uint8Array | null> {
    return this.files.get(file) ?? null;
  }
  async write(file: CheckpointFile, bytes: Uint8Array): Promise<void> {
    this.files.set(file, bytes.slice());
  }
  async writeOutput(bytes: Uint8Array): Promise<void> {
    this.output = bytes;
  }
  async clear(): Promise<void> {
    this.files.clear();
  }
}
