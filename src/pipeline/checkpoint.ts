/**
 * Per-unit checkpoints of a reconstruction run, kept in a RunStore so that an interrupted run
 * (killed process, closed tab, lost device) resumes at the next unit. Two files: `float` (the
 * RepQ-ViT-folded float weights the rounding starts from, written once after calibration) and
 * `state` (a valid quantized-model file with every finished unit, rewritten after each unit).
 *
 * Resuming trusts nothing in the store: the state's resume record (units done, the run's
 * fingerprint, the float file's digest) and every float tensor are checked before use.
 */
import { checkMatchesModel, parseQuantizedModel, serializeQuantizedModel } from '../io/quantized-file.js';
import { CHECKPOINT_FILES, type RunStore } from '../io/run-store.js';
import { parseSafetensors, serializeSafetensors, toFloat32 } from '../io/safetensors.js';
import { expectedTensors } from '../model/checkpoint.js';
import type { ModelConfig } from '../model/model-config.js';
import type { QuantizedModel } from '../quant/quantized-model.js';
import { sha256Hex } from '../util/digest.js';
import { FimaqError } from '../util/errors.js';

export interface ReconCheckpoint {
  quantized: QuantizedModel;
  float: Map<string, Float32Array>;
  /** Units finished. */
  done: number;
  /** Digest of the float file, which every later state records again. */
  floatDigest: string;
  /** What the finished units reported (losses, errors), for the final file. */
  units: UnitDetails[];
}

/** The deterministic part of a unit's report, as the file records it. */
export interface UnitDetails {
  unit: string;
  losses: [number, number][];
  hard_error: { before: number; after: number };
  snapshots?: unknown;
  eigen?: unknown;
}

/** What a state file records about its run, besides the model. */
export interface ResumeRecord {
  /** The run's reconstruction method (the model's own info says 'calib' until the end). */
  method: string;
  /** The run's settings, inputs and data, digested. */
  fingerprint: string;
  floatDigest: string;
}

/** What a run expects of its checkpoint. */
export interface CheckpointExpectation {
  fingerprint: string;
  config: ModelConfig;
  /** Reconstruction units of the model, in order. */
  unitNames: string[];
  wbits: number;
  abits: number;
}

const STATE = 'state.safetensors';
const FLOAT = 'float.safetensors';

/** Writes the float weights the run started from; returns the file's digest, which each state records. */
export async function saveFloatWeights(store: RunStore, float: Map<string, Float32Array>): Promise<string> {
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const [name, data] of float) tensors[name] = { dtype: 'F32', shape: [data.length], data };
  const bytes = serializeSafetensors(tensors);
  await store.write('float', bytes);
  return sha256Hex(bytes);
}

/** Writes the model with `done` units finished and what they reported, with the run's record. */
export async function saveState(store: RunStore, quantized: QuantizedModel, done: number, units: UnitDetails[], run: ResumeRecord): Promise<void> {
  const details = { ...quantized.info.details, resume: { done, method: run.method, fingerprint: run.fingerprint, float_sha256: run.floatDigest, units } };
  await store.write('state', serializeQuantizedModel({ ...quantized, info: { ...quantized.info, details } }, `${store.where}/${STATE}`));
}

/** Units done and the method according to the state file, for messages; null when it cannot be read. */
export async function checkpointProgress(store: RunStore): Promise<{ done: number; method: string } | null> {
  const bytes = await store.read('state');
  if (!bytes) return null;
  try {
    const resume = parseQuantizedModel(bytes, STATE).info.details?.resume as { done?: unknown; method?: unknown } | undefined;
    return typeof resume?.done === 'number' && typeof resume.method === 'string' ? { done: resume.done, method: resume.method } : null;
  } catch {
    return null;
  }
}

/** Whether the store holds (part of) a checkpoint that a plain rerun would overwrite. */
export async function hasCheckpoint(store: RunStore): Promise<boolean> {
  for (const file of CHECKPOINT_FILES) if ((await store.read(file)) !== null) return true;
  return false;
}

/** Keeps the calibration-only model beside the checkpoint. */
export async function saveCalibrated(store: RunStore, calibrated: QuantizedModel): Promise<void> {
  await store.write('calibrated', serializeQuantizedModel(calibrated, `${store.where}/calibrated.safetensors`));
}

/** The calibration-only model of the checkpoint, or null when it was not kept. */
export async function loadCalibrated(store: RunStore, config: ModelConfig): Promise<QuantizedModel | null> {
  const bytes = await store.read('calibrated');
  if (!bytes) return null;
  const path = `${store.where}/calibrated.safetensors`;
  const q = parseQuantizedModel(bytes, path);
  checkMatchesModel(q, config, path);
  return q;
}

/**
 * The checkpoint in `store`, or null when there is none. A checkpoint of another run, or one
 * whose files disagree with their record or with the model, is an error that names the file.
 */
export async function loadCheckpoint(store: RunStore, expect: CheckpointExpectation): Promise<ReconCheckpoint | null> {
  const statePath = `${store.where}/${STATE}`;
  const floatPath = `${store.where}/${FLOAT}`;
  const [stateBytes, floatBytes] = [await store.read('state'), await store.read('float')];
  if (!stateBytes && !floatBytes) return null;
  if (!stateBytes) throw new FimaqError(`${store.where}: has ${FLOAT} but no ${STATE}; the checkpoint is incomplete: use --fresh to start over`);
  if (!floatBytes) throw new FimaqError(`${store.where}: has ${STATE} but no ${FLOAT}; the checkpoint is incomplete: use --fresh to start over`);
  const quantized = parseQuantizedModel(stateBytes, statePath);
  const resume = quantized.info.details?.resume as { done?: unknown; fingerprint?: unknown; float_sha256?: unknown; units?: unknown } | undefined;
  if (!resume || typeof resume.fingerprint !== 'string' || typeof resume.float_sha256 !== 'string' || !Array.isArray(resume.units)) {
    throw new FimaqError(`${statePath}: not a reconstruction checkpoint of this fimaq version (no complete resume record); use --fresh to start over`);
  }
  if (resume.fingerprint !== expect.fingerprint) {
    throw new FimaqError(`${store.where}: the checkpoint is of a run with other settings, inputs or data; repeat that run's options, or use --fresh to start over`);
  }
  const done = resume.done;
  if (typeof done !== 'number' || !Number.isInteger(done) || done < 0 || done > expect.unitNames.length) {
    throw new FimaqError(`${statePath}: resume record says ${JSON.stringify(done)} units done; expected an integer from 0 to ${expect.unitNames.length}`);
  }
  const unitNames = resume.units.map((u) => (u as UnitDetails | null)?.unit);
  if (unitNames.length !== done || !unitNames.every((n, i) => n === expect.unitNames[i])) {
    throw new FimaqError(`${statePath}: its record of finished units (${unitNames.join(', ') || 'none'}) does not match ${done} units done`);
  }
  checkMatchesModel(quantized, expect.config, statePath);
  if (quantized.info.wbits !== expect.wbits || quantized.info.abits !== expect.abits) {
    throw new FimaqError(`${statePath}: holds a W${quantized.info.wbits}A${quantized.info.abits} model; this run is W${expect.wbits}A${expect.abits}`);
  }

  if ((await sha256Hex(floatBytes)) !== resume.float_sha256) {
    throw new FimaqError(`${floatPath}: does not match the digest its state file recorded (changed or corrupt); use --fresh to start over`);
  }
  const parsed = parseSafetensors(floatBytes, floatPath);
  const expected = expectedTensors(expect.config);
  // A Swin reduction has a bias after RepQ-ViT folding only.
  if (expect.config.family === 'swin') {
    expect.config.stages.forEach((st, i) => {
      const bias = `layers.${i}.downsample.reduction.bias`;
      if (st.downsample && parsed.tensors.has(bias)) expected.set(bias, [st.dim]);
    });
  }
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
  return { quantized, float, done, floatDigest: resume.float_sha256, units: resume.units as UnitDetails[] };
}
