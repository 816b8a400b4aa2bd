/** Node loader for checkpoint folders; kept apart so checkpoint-file.ts stays browser-safe. */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FimaqError } from '../util/errors.js';
import { type ModelCheckpoint, type VitCheckpoint, requireVit } from '../model/checkpoint.js';
import { checkpointFromBytes } from './checkpoint-file.js';

const CONFIG_FILE = 'config.json';
const WEIGHTS_FILE = 'model.safetensors';

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function read(file: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (e) {
    throw new FimaqError(`${file}: cannot read file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** Loads `<path>/config.json` and `<path>/model.safetensors` and validates them against each other. */
export async function loadCheckpoint(path: string): Promise<ModelCheckpoint> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FimaqError(code === 'ENOENT' ? `${path}: checkpoint folder does not exist` : `${path}: cannot open checkpoint folder (${code})`);
  }
  if (!isDir) throw new FimaqError(`${path}: is not a folder (expected a checkpoint folder with ${CONFIG_FILE} and ${WEIGHTS_FILE})`);

  const missing: string[] = [];
  for (const name of [CONFIG_FILE, WEIGHTS_FILE]) if (!(await isFile(join(path, name)))) missing.push(name);
  if (missing.length > 0) throw new FimaqError(`${path}: checkpoint folder is missing ${missing.join(' and ')}`);

  const [configBytes, weights] = await Promise.all([read(join(path, CONFIG_FILE)), read(join(path, WEIGHTS_FILE))]);
  return checkpointFromBytes(new TextDecoder().decode(configBytes), weights, path);
}

/** loadCheckpoint for what takes ViT / DeiT models only; a Swin is refused with an error naming `command`. */
export async function loadVitCheckpoint(path: string, command: string): Promise<VitCheckpoint> {
  return requireVit(await loadCheckpoint(path), command);
}
