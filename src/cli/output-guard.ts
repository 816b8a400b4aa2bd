/**
 * What a command reads, as paths, so that its outputs can be checked against them before any
 * work starts (src/io/output-paths.ts), and the lock every writing command takes on its output.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FASHION_MNIST_DIR } from '../data/open.js';
import { type InputSpec, type OutputSpec, checkOutputs } from '../io/output-paths.js';
import { type RunLock, acquireLock } from '../io/run-lock.js';

/** A model folder is read as its two files; a quantized model is one file. */
export function modelInputs(modelPath: string): InputSpec[] {
  if (existsSync(modelPath) && statSync(modelPath).isDirectory()) {
    return ['config.json', 'model.safetensors'].map((f) => ({ path: join(modelPath, f), option: '--model', kind: 'file' as const }));
  }
  return [{ path: modelPath, option: '--model', kind: 'file' }];
}

/** The folder behind a data spec (see src/data/open.ts), read as a whole. */
export function dataInput(spec: string | undefined, option: string): InputSpec[] {
  if (spec === undefined) return [];
  if (/^fashion-mnist(:(train|test))?$/.test(spec)) return [{ path: process.env.FIMAQ_FASHION_MNIST_DIR || FASHION_MNIST_DIR, option, kind: 'tree' }];
  const path = spec.replace(/^mnist:/, '').replace(/:(train|test)$/, '');
  return [{ path: existsSync(path) ? path : spec, option, kind: 'tree' }];
}

export function fileInput(path: string | undefined, option: string): InputSpec[] {
  return path === undefined ? [] : [{ path, option, kind: 'file' }];
}

/**
 * Checks the outputs against the inputs, then takes the lock on the first output; the caller
 * releases it when done.
 */
export async function guardOutputs(command: string, outputs: OutputSpec[], inputs: InputSpec[], removable: { path: string; what: string }[] = []): Promise<RunLock> {
  const [main] = checkOutputs(outputs, inputs, removable);
  return acquireLock(main, command, (owner) => process.stderr.write(`fimaq: taking over the lock of pid ${owner.pid}, which no longer runs (${owner.command})\n`));
}
