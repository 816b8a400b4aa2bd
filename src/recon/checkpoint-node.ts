/**
 * Per-unit checkpoints of a reconstruction run (Node only), so an interrupted run resumes at the
 * next unit. The folder `<out>.partial/` holds `float.safetensors` (the RepQ-ViT-folded float
 * weights the rounding starts from, written once after calibration) and `state.safetensors` (a
 * valid quantized-model file with every finished unit, rewritten after each unit). Both are
 * written atomically; the folder is removed once the final file is written.
 *
 * Resuming trusts nothing in the folder: the state's resume record (units done, the run's
 * fingerprint, the float file's digest) and every float tensor are checked before use.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic-write.js';
import { checkMatchesModel } from '../io/quantized-file.js';
import { readQuantizedVit, writeQuantizedVit } from '../io/quantized-file-node.js';
import { parseSafetensors, serializeSafetensors, toFloat32 } from '../io/safetensors.js';
import { expectedVitTensors } from '../model/checkpoint.js';
import type { VitConfig } from '../model/config.js';
import type { QuantizedVit } from '../quant/quantized-model.js';
import { FimaqError } from '../util/errors.js';

export interface ReconCheckpoint {
  quantized: QuantizedVit;
  float: Map<string, Float32Array>;
  /** Units finished. */
  done: number;
  /** Digest of float.safetensors, which every later state records again. */
  floatDigest: string;
}

/** What a run expects of its checkpoint. */
export interface CheckpointExpectation {
  /** The run's settings, data and inputs, digested (see runFingerprint). */
  fingerprint: string;
  config: VitConfig;
  /** Reconstruction units of the model. */
  units: number;
  wbits: number;
  abits: number;
}

export const checkpointFolder = (out: string): string => `${out}.partial`;

const STATE = 'state.safetensors';
const FLOAT = 'float.safetensors';

export const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

/** A digest of named float tensors (names and bytes, in the map's order). */
export function tensorsDigest(tensors: Map<string, Float32Array>): string {
  const h = createHash('sha256');
  for (const [name, data] of tensors) {
    h.update(`${name}:${data.length};`);
    h.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return h.digest('hex');
}

/** Writes the float weights the run started from; returns the file's digest, which each state records. */
export async function saveFloatWeights(folder: string, float: Map<string, Float32Array>): Promise<string> {
  await mkdir(folder, { recursive: true });
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const [name, data] of float) tensors[name] = { dtype: 'F32', shape: [data.length], data };
  const bytes = serializeSafetensors(tensors);
  await writeFileAtomic(join(folder, FLOAT), bytes);
  return sha256(bytes);
}

/** What a state file records about its run, besides the model. */
export interface ResumeRecord {
  /** The run's reconstruction method (the model's own info says 'calib' until the end). */
  method: string;
  fingerprint: string;
  floatDigest: string;
}

/** Writes the model with `done` units finished, with the run's record. */
export async function saveState(folder: string, quantized: QuantizedVit, done: number, run: ResumeRecord): Promise<void> {
  const details = { ...quantized.info.details, resume: { done, method: run.method, fingerprint: run.fingerprint, float_sha256: run.floatDigest } };
  await writeQuantizedVit(join(folder, STATE), { ...quantized, info: { ...quantized.info, details } });
}

/** Whether `folder` holds (part of) a checkpoint that a plain rerun would overwrite. */
export function hasCheckpoint(folder: string): boolean {
  return existsSync(join(folder, STATE)) || existsSync(join(folder, FLOAT));
}

/** Units done according to the state file, for messages; null when it cannot be read. */
export async function checkpointProgress(folder: string): Promise<{ done: number; method: string } | null> {
  try {
    const q = await readQuantizedVit(join(folder, STATE));
    const resume = q.info.details?.resume as { done?: unknown; method?: unknown } | undefined;
    return typeof resume?.done === 'number' && typeof resume.method === 'string' ? { done: resume.done, method: resume.method } : null;
  } catch {
    return null;
  }
}

/**
 * The checkpoint in `folder`, or null when there is none. A checkpoint of another run, or one
 * whose files disagree with their record or with the model, is an error that names the file.
 */
export async function loadCheckpoint(folder: string, expect: CheckpointExpectation): Promise<ReconCheckpoint | null> {
  const statePath = join(folder, STATE);
  const floatPath = join(folder, FLOAT);
  if (!existsSync(statePath) && !existsSync(floatPath)) return null;
  if (!existsSync(statePath)) throw new FimaqError(`${folder}: has ${FLOAT} but no ${STATE}; the checkpoint is incomplete: use --fresh to start over`);
  if (!existsSync(floatPath)) throw new FimaqError(`${folder}: has ${STATE} but no ${FLOAT}; the checkpoint is incomplete: use --fresh to start over`);
  const quantized = await readQuantizedVit(statePath);
  const resume = quantized.info.details?.resume as { done?: unknown; fingerprint?: unknown; float_sha256?: unknown } | undefined;
  if (!resume || typeof resume.fingerprint !== 'string' || typeof resume.float_sha256 !== 'string') {
    throw new FimaqError(`${statePath}: not a reconstruction checkpoint of this fimaq version (no complete resume record); use --fresh to start over`);
  }
  if (resume.fingerprint !== expect.fingerprint) {
    throw new FimaqError(`${folder}: the checkpoint is of a run with other settings, inputs or data; repeat that run's options, or use --fresh to start over`);
  }
  const done = resume.done;
  if (typeof done !== 'number' || !Number.isInteger(done) || done < 0 || done > expect.units) {
    throw new FimaqError(`${statePath}: resume record says ${JSON.stringify(done)} units done; expected an integer from 0 to ${expect.units}`);
  }
  checkMatchesModel(quantized, expect.config, statePath);
  if (quantized.info.wbits !== expect.wbits || quantized.info.abits !== expect.abits) {
    throw new FimaqError(`${statePath}: holds a W${quantized.info.wbits}A${quantized.info.abits} model; this run is W${expect.wbits}A${expect.abits}`);
  }

  const floatBytes = await readFile(floatPath);
  if (sha256(floatBytes) !== resume.float_sha256) {
    throw new FimaqError(`${floatPath}: does not match the digest its state file recorded (changed or corrupt); use --fresh to start over`);
  }
  const parsed = parseSafetensors(floatBytes, floatPath);
  const expected = expectedVitTensors(expect.config);
  const missing = [...expected.keys()].filter((k) => !parsed.tensors.has(k));
  const unexpected = [...parsed.tensors.keys()].filter((k) => !expected.has(k));
  if (missing.length > 0 || unexpected.length > 0) {
    const problems = [missing.length > 0 ? `missing ${missing.slice(0, 5).join(', ')}` : '', unexpected.length > 0 ? `unexpected ${unexpected.slice(0, 5).join(', ')}` : ''].filter(Boolean);
    throw new FimaqError(`${floatPath}: tensors do not match the model: ${problems.join('; ')}`);
  }
  const float = new Map<string, Float32Array>();
  for (const [name, shape] of expected) {
    const data = toFloat32(parsed.tensors.get(name)!, name, floatPath);
    const size = shape.reduce((a, b) => a * b, 1);
    if (data.length !== size) throw new FimaqError(`${floatPath}: tensor '${name}' has ${data.length} values; the model needs ${size}`);
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new FimaqError(`${floatPath}: tensor '${name}' has a non-finite value (${data[bad]}) at index ${bad}`);
    float.set(name, data);
  }
  return { quantized, float, done, floatDigest: resume.float_sha256 };
}

export async function removeCheckpoint(folder: string): Promise<void> {
  await rm(folder, { recursive: true, force: true });
}
