/** Node reader and writer for quantized-model files; kept apart so quantized-file.ts stays browser-safe. */
import { readFile } from 'node:fs/promises';
import type { QuantizedModel } from '../quant/quantized-model.js';
import { FimaqError } from '../util/errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { parseQuantizedModel, serializeQuantizedModel } from './quantized-file.js';

/** Writes the model atomically: an existing file at `path` is replaced only by a complete new one. */
export async function writeQuantizedModel(path: string, m: QuantizedModel): Promise<void> {
  await writeFileAtomic(path, serializeQuantizedModel(m, path));
}

/** The bytes of a quantized-model file; a file that cannot be read is an error naming `path`. */
export async function readQuantizedBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file does not exist' : code === 'EISDIR' ? 'is a folder, not a file' : `cannot read file (${code ?? (e as Error).message.replace(/\s*\n\s*/g, ' ')})`;
    throw new FimaqError(`${path}: ${why}`);
  }
}

/** Reads and validates a quantized-model file; every error names `path`. */
export async function readQuantizedModel(path: string): Promise<QuantizedModel> {
  return parseQuantizedModel(await readQuantizedBytes(path), path);
}
