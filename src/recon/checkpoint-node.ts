/**
 * Per-unit checkpoints of a reconstruction run (Node only), so an interrupted run resumes at the
 * next unit. The folder `<out>.partial/` holds `float.safetensors` (the RepQ-ViT-folded float
 * weights the rounding starts from, written once after calibration) and `state.safetensors` (a
 * valid quantized-model file with every finished unit, rewritten after each unit). Both are
 * written atomically; the folder is removed once the final file is written.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic-write.js';
import { readQuantizedVit, writeQuantizedVit } from '../io/quantized-file-node.js';
import { parseSafetensors, serializeSafetensors, toFloat32 } from '../io/safetensors.js';
import type { QuantizedVit } from '../quant/quantized-model.js';
import { FimaqError } from '../util/errors.js';

export interface ReconCheckpoint {
  quantized: QuantizedVit;
  float: Map<string, Float32Array>;
  /** Units finished. */
  done: number;
}

export const checkpointFolder = (out: string): string => `${out}.partial`;

/** Writes the float weights the run started from. */
export async function saveFloatWeights(folder: string, float: Map<string, Float32Array>): Promise<void> {
  await mkdir(folder, { recursive: true });
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const [name, data] of float) tensors[name] = { dtype: 'F32', shape: [data.length], data };
  await writeFileAtomic(join(folder, 'float.safetensors'), serializeSafetensors(tensors));
}

/** Writes the model with `done` units finished; `fingerprint` identifies the run's settings. */
export async function saveState(folder: string, quantized: QuantizedVit, done: number, fingerprint: string): Promise<void> {
  const details = { ...quantized.info.details, resume: { done, fingerprint } };
  await writeQuantizedVit(join(folder, 'state.safetensors'), { ...quantized, info: { ...quantized.info, details } });
}

/**
 * The checkpoint in `folder`, or null when there is none. A checkpoint of a run with other
 * settings is an error that names the folder.
 */
export async function loadCheckpoint(folder: string, fingerprint: string): Promise<ReconCheckpoint | null> {
  const statePath = join(folder, 'state.safetensors');
  const floatPath = join(folder, 'float.safetensors');
  let floatBytes: Uint8Array;
  try {
    floatBytes = await readFile(floatPath);
  } catch {
    return null;
  }
  const quantized = await readQuantizedVit(statePath);
  const resume = quantized.info.details?.resume as { done?: unknown; fingerprint?: unknown } | undefined;
  if (!resume || typeof resume.done !== 'number' || typeof resume.fingerprint !== 'string') {
    throw new FimaqError(`${statePath}: not a reconstruction checkpoint (no resume record)`);
  }
  if (resume.fingerprint !== fingerprint) {
    throw new FimaqError(`${folder}: the checkpoint is of a run with other settings (${resume.fingerprint}); delete it or repeat that run's options`);
  }
  const parsed = parseSafetensors(floatBytes, floatPath);
  const float = new Map<string, Float32Array>();
  for (const [name, t] of parsed.tensors) float.set(name, toFloat32(t, name, floatPath));
  return { quantized, float, done: resume.done };
}

export async function removeCheckpoint(folder: string): Promise<void> {
  await rm(folder, { recursive: true, force: true });
}
