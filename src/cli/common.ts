/**
 * What every command shares: the tool version, the demo model, the GPU context with the chosen
 * adapter, loading a model of either kind, and printing one summary (text, or one JSON object).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { LabelOptions } from '../data/folder-labels.js';
import { loadCheckpoint } from '../io/checkpoint-node.js';
import { readQuantizedModel } from '../io/quantized-file-node.js';
import type { ModelCheckpoint } from '../model/checkpoint.js';
import type { ModelConfig } from '../model/model-config.js';
import { checkIndices } from '../quant/calibration-set.js';
import type { QuantizedModel } from '../quant/quantized-model.js';
import type { AdapterSummary, GpuContext } from '../runtime/context.js';
import { PACKAGE_ROOT, createNodeContext } from '../runtime/node-gpu.js';
import type { AdapterChoice } from '../runtime/vulkan-env.js';
import { FimaqError } from '../util/errors.js';
import type { Values } from './options.js';

export const DEMO_MODEL_DIR = join(PACKAGE_ROOT, 'demo', 'fashion-vit');
export const TOOL_VERSION: string = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')).version;

export function resolveModelPath(model: string | undefined): string {
  if (!model) throw new FimaqError('--model is required (a checkpoint folder, or demo)');
  if (model === 'demo') {
    if (!existsSync(DEMO_MODEL_DIR)) throw new FimaqError(`the demo model is missing from ${DEMO_MODEL_DIR}`);
    return DEMO_MODEL_DIR;
  }
  return resolve(model);
}

/** --calib, which defaults to the demo's training images for the demo model. */
export function calibSpecOf(values: Values, what: string): string {
  const spec = values.calib ?? (values.model === 'demo' ? 'fashion-mnist:train' : undefined);
  if (!spec) throw new FimaqError(`--calib is required (${what})`);
  return spec;
}

function adapterChoice(v: string | undefined): AdapterChoice {
  if (v === 'auto' || v === 'swiftshader' || v === 'system') return v;
  throw new FimaqError(`--adapter must be auto, swiftshader or system, got '${v}'`);
}

/** --bounds-checks / --no-bounds-checks; neither: the runtime's default for the adapter. */
function boundsChecks(values: Values): boolean | undefined {
  if (values['bounds-checks'] && values['no-bounds-checks']) throw new FimaqError('--bounds-checks and --no-bounds-checks contradict each other');
  if (values['bounds-checks']) return true;
  return values['no-bounds-checks'] ? false : undefined;
}

export async function withContext<T>(values: Values, run: (ctx: GpuContext) => Promise<T>): Promise<T> {
  const ctx = await createNodeContext({ adapter: adapterChoice(values.adapter), boundsChecks: boundsChecks(values), debug: values.debug });
  try {
    return await run(ctx);
  } finally {
    await ctx.dispose();
  }
}

export function adapterJson(a: AdapterSummary): Record<string, unknown> {
  return { vendor: a.vendor, architecture: a.architecture, device: a.device, description: a.description, fallback: a.fallback, backend: a.backend };
}

export function describeAdapter(a: AdapterSummary): string {
  return `${a.vendor || 'unknown vendor'} ${a.architecture} (${a.description || a.device})${a.fallback ? ', fallback adapter' : ''}, ${a.backend}`;
}

/** The command's summary on stdout: the text, or with --json exactly one JSON object. */
export function print(values: Values, json: Record<string, unknown>, text: string): void {
  process.stdout.write(values.json ? `${JSON.stringify(json)}\n` : `${text}\n`);
}

/** A float checkpoint folder, or a quantized-model file. */
export async function loadModel(path: string): Promise<{ config: ModelConfig; quantized: QuantizedModel | null; float: ModelCheckpoint | null }> {
  if (!existsSync(path)) throw new FimaqError(`model ${path} does not exist (expected a checkpoint folder or a quantized-model file)`);
  if (statSync(path).isFile()) {
    const q = await readQuantizedModel(path);
    return { config: q.config, quantized: q, float: null };
  }
  const ckpt = await loadCheckpoint(path);
  return { config: ckpt.config, quantized: null, float: ckpt };
}

/** Evaluation data: labels must name the model's classes (folder names are matched to them). */
export const labelled = (cfg: ModelConfig): LabelOptions => ({ numClasses: cfg.numClasses, labelNames: cfg.labelNames, labels: 'required' });
/** Calibration images: labels are not used, so class folders may be named anything. */
export const unlabelled = (cfg: ModelConfig): LabelOptions => ({ numClasses: cfg.numClasses, labelNames: cfg.labelNames, labels: 'ignore' });

/** The --calib-indices list, checked against the data, or undefined for seeded images. */
export async function indexList(file: string | undefined, count: number): Promise<number[] | undefined> {
  if (!file) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new FimaqError(`${file}: cannot read a JSON index list (${(e as Error).message.split('\n')[0]})`);
  }
  return checkIndices(parsed, count, file);
}
