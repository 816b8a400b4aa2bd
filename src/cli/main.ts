/**
 * The `fimaq` command line. Every command prints a human summary, or exactly one JSON object on
 * stdout with --json; progress goes to stderr; user errors are one line on stderr with exit code 1.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { openDataset } from '../data/open.js';
import { evaluate } from '../inference/evaluate.js';
import { readQuantizedVit, writeQuantizedVit } from '../io/quantized-file-node.js';
import { loadCheckpoint } from '../model/checkpoint-node.js';
import type { VitCheckpoint } from '../model/checkpoint.js';
import type { VitConfig } from '../model/config.js';
import { type CalibrationMethod, calibrate } from '../quant/calibrate.js';
import { checkIndices, seededIndices } from '../quant/calibration-set.js';
import { FakeQuantVit } from '../quant/fake-quant-model.js';
import { checkBits } from '../quant/pack.js';
import type { QuantizedVit } from '../quant/quantized-model.js';
import { VitModel, forwardFlops, parameterCount } from '../model/vit.js';
import type { AdapterSummary, GpuContext } from '../runtime/context.js';
import { PACKAGE_ROOT, createNodeContext } from '../runtime/node-gpu.js';
import type { AdapterChoice } from '../runtime/vulkan-env.js';
import { FimaqError } from '../util/errors.js';
import { Progress } from './progress.js';

export const DEMO_MODEL_DIR = join(PACKAGE_ROOT, 'demo', 'fashion-vit');
export const TOOL_VERSION: string = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')).version;

const HELP = `fimaq: FIMA-Q post-training quantization of Vision Transformers on WebGPU

Usage:
  fimaq eval --model <dir|demo|file.safetensors> --data <spec> [--limit N] [--batch B] [--json]
      Top-1 (and top-5 when there are more than 5 classes) of a float model, or of a quantized
      model file (fake-quant evaluation).
  fimaq quantize --model <dir|demo> --calib <spec> --out <file> [--method calib|rtn]
                 [--wbits 4] [--abits 4] [--calib-size 128] [--seed 3407] [--calib-indices <json>] [--json]
      Post-training quantization into one quantized-model file. calib: the method's quantizer
      calibration search (with RepQ-ViT when wbits == abits); rtn: min/max round-to-nearest.
      Calibration images are the first --calib-size of a permutation drawn from --seed, or the
      indices listed in a JSON file. --calib defaults to fashion-mnist:train for the demo model.
  fimaq info --model <dir|demo> [--json]
      Architecture, parameter count, FLOPs per image and preprocessing of a model.
  fimaq adapter [--json]
      The WebGPU adapter the engine would use.

Models: a folder with config.json and model.safetensors in timm / Hugging Face hub layout
  (vit_* and deit_* architectures), or 'demo' for the embedded Fashion-MNIST ViT.
Data specs: fashion-mnist[:test|:train], mnist:<dir>[:test|:train], a folder of IDX files,
  or an image folder (<dir>/<class>/<image>.jpg|png, like torchvision's ImageFolder).

Common options:
  --adapter auto|swiftshader|system   Vulkan driver for Dawn in Node (default auto: the system's
                                      driver if one is installed, else SwiftShader on the CPU)
  --debug                             submit after every op and report WebGPU errors at once
  --json                              print one JSON object on stdout
  -h, --help                          this text
  --version                           the tool version
`;

const OPTIONS = {
  model: { type: 'string' },
  data: { type: 'string' },
  limit: { type: 'string' },
  calib: { type: 'string' },
  'calib-size': { type: 'string' },
  'calib-indices': { type: 'string' },
  method: { type: 'string' },
  wbits: { type: 'string' },
  abits: { type: 'string' },
  seed: { type: 'string' },
  out: { type: 'string' },
  batch: { type: 'string' },
  json: { type: 'boolean', default: false },
  adapter: { type: 'string', default: 'auto' },
  debug: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  version: { type: 'boolean', default: false },
} satisfies ParseArgsConfig['options'];

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function positiveInt(value: string | undefined, name: string, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new FimaqError(`--${name} must be a positive integer, got '${value}'`);
  return n;
}

export function resolveModelPath(model: string | undefined): string {
  if (!model) throw new FimaqError('--model is required (a checkpoint folder, or demo)');
  if (model === 'demo') {
    if (!existsSync(DEMO_MODEL_DIR)) throw new FimaqError(`the demo model is missing from ${DEMO_MODEL_DIR}`);
    return DEMO_MODEL_DIR;
  }
  return resolve(model);
}

function adapterChoice(v: string | undefined): AdapterChoice {
  if (v === 'auto' || v === 'swiftshader' || v === 'system') return v;
  throw new FimaqError(`--adapter must be auto, swiftshader or system, got '${v}'`);
}

async function withContext<T>(values: Values, run: (ctx: GpuContext) => Promise<T>): Promise<T> {
  const ctx = await createNodeContext({ adapter: adapterChoice(values.adapter), debug: values.debug });
  try {
    return await run(ctx);
  } finally {
    await ctx.dispose();
  }
}

function adapterJson(a: AdapterSummary): Record<string, unknown> {
  return { vendor: a.vendor, architecture: a.architecture, device: a.device, description: a.description, fallback: a.fallback, backend: a.backend };
}

function describeAdapter(a: AdapterSummary): string {
  return `${a.vendor || 'unknown vendor'} ${a.architecture} (${a.description || a.device})${a.fallback ? ', fallback adapter' : ''}, ${a.backend}`;
}

function print(values: Values, json: Record<string, unknown>, text: string): void {
  process.stdout.write(values.json ? `${JSON.stringify(json)}\n` : `${text}\n`);
}

/** A float checkpoint folder, or a quantized-model file. */
async function loadModel(path: string): Promise<{ config: VitConfig; quantized: QuantizedVit | null; float: VitCheckpoint | null }> {
  if (!existsSync(path)) throw new FimaqError(`model ${path} does not exist (expected a checkpoint folder or a quantized-model file)`);
  if (statSync(path).isFile()) {
    const q = await readQuantizedVit(path);
    return { config: q.config, quantized: q, float: null };
  }
  const ckpt = await loadCheckpoint(path);
  return { config: ckpt.config, quantized: null, float: ckpt };
}

async function commandEval(values: Values): Promise<void> {
  const modelPath = resolveModelPath(values.model);
  if (!values.data) throw new FimaqError('--data is required (for example fashion-mnist:test)');
  const limit = positiveInt(values.limit, 'limit');
  const batchSize = positiveInt(values.batch, 'batch', 64) as number;
  const loaded = await loadModel(modelPath);
  const data = await openDataset(values.data, loaded.config.preprocess);
  await withContext(values, async (ctx) => {
    const model = loaded.quantized ? FakeQuantVit.upload(ctx, loaded.quantized) : VitModel.upload(ctx, loaded.float as VitCheckpoint);
    const progress = new Progress('eval');
    const r = await evaluate(model, data, { limit, batchSize, onProgress: (d, t) => progress.update(d, t) });
    model.release();
    const info = loaded.quantized?.info;
    const json = {
      command: 'eval',
      model: modelPath,
      data: data.description,
      engine: loaded.quantized ? 'fake-quant' : 'float',
      ...(info ? { method: info.method, wbits: info.wbits, abits: info.abits } : {}),
      count: r.count,
      top1: r.top1,
      top5: r.top5,
      seconds: r.seconds,
      images_per_second: r.count / r.seconds,
      batch: batchSize,
      adapter: adapterJson(ctx.adapter),
    };
    const top5 = r.top5 === null ? '' : `, top-5 ${(100 * r.top5).toFixed(2)}%`;
    print(values, json, `${data.description}: ${r.count} images, top-1 ${(100 * r.top1).toFixed(2)}%${top5} in ${r.seconds.toFixed(1)} s\nadapter: ${describeAdapter(ctx.adapter)}`);
  });
}

const METHODS: readonly CalibrationMethod[] = ['calib', 'rtn'];

async function commandQuantize(values: Values): Promise<void> {
  const modelPath = resolveModelPath(values.model);
  if (!values.out) throw new FimaqError('--out is required (the quantized-model file to write)');
  const method = (values.method ?? 'calib') as CalibrationMethod;
  if (!METHODS.includes(method)) throw new FimaqError(`--method must be one of ${METHODS.join(', ')}, got '${values.method}'`);
  const wbits = positiveInt(values.wbits, 'wbits', 4) as number;
  const abits = positiveInt(values.abits, 'abits', 4) as number;
  checkBits(wbits, '--wbits');
  checkBits(abits, '--abits');
  const seed = values.seed === undefined ? 3407 : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new FimaqError(`--seed must be a non-negative integer, got '${values.seed}'`);
  const calibSpec = values.calib ?? (values.model === 'demo' ? 'fashion-mnist:train' : undefined);
  if (!calibSpec) throw new FimaqError('--calib is required (the calibration images, e.g. an image folder)');
  const ckpt = await loadCheckpoint(modelPath);
  const data = await openDataset(calibSpec, ckpt.config.preprocess);
  let indices: number[];
  if (values['calib-indices']) {
    const file = values['calib-indices'];
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(file, 'utf8'));
    } catch (e) {
      throw new FimaqError(`${file}: cannot read a JSON index list (${(e as Error).message.split('\n')[0]})`);
    }
    indices = checkIndices(parsed, data.count, file);
  } else {
    indices = seededIndices(data.count, positiveInt(values['calib-size'], 'calib-size', 128) as number, seed);
  }
  const batch = await data.batch(indices);
  const start = performance.now();
  await withContext(values, async (ctx) => {
    const progress = new Progress(`${method} W${wbits}A${abits}`);
    const result = await calibrate(ctx, ckpt, batch.pixels, indices.length, {
      method,
      wbits,
      abits,
      onProgress: (stage, done, total) => progress.update(done, total, stage),
    });
    const seconds = (performance.now() - start) / 1000;
    const quantized: QuantizedVit = {
      ...result.quantized,
      configText: ckpt.configText,
      info: {
        method,
        wbits,
        abits,
        seed,
        calibSize: indices.length,
        calibData: data.description,
        toolVersion: TOOL_VERSION,
        created: new Date().toISOString(),
        details: { seconds, calib_indices: values['calib-indices'] ? 'file' : 'seeded' },
      },
    };
    const out = resolve(values.out as string);
    await writeQuantizedVit(out, quantized);
    const json = { command: 'quantize', method, wbits, abits, seed, calib_size: indices.length, calib_data: data.description, seconds, output: out, adapter: adapterJson(ctx.adapter) };
    print(values, json, `${method} W${wbits}A${abits}: calibrated on ${indices.length} images of ${data.description} in ${seconds.toFixed(1)} s\nwrote ${out}\nadapter: ${describeAdapter(ctx.adapter)}`);
  });
}

async function commandInfo(values: Values): Promise<void> {
  const modelPath = resolveModelPath(values.model);
  const { config: c } = await loadModel(modelPath);
  const params = parameterCount(c);
  const flops = forwardFlops(c);
  const json = {
    command: 'info',
    model: modelPath,
    architecture: c.architecture,
    family: c.family,
    img_size: c.imgSize,
    patch_size: c.patchSize,
    in_chans: c.inChans,
    embed_dim: c.embedDim,
    depth: c.depth,
    num_heads: c.numHeads,
    mlp_hidden: c.mlpHidden,
    num_classes: c.numClasses,
    tokens: c.numTokens,
    parameters: params,
    flops_per_image: flops,
    preprocess: c.preprocess,
    label_names: c.labelNames ?? null,
  };
  const p = c.preprocess;
  print(
    values,
    json,
    [
      `${modelPath}`,
      `architecture: ${c.architecture} (${c.family}), ${c.depth} blocks, width ${c.embedDim}, ${c.numHeads} heads, MLP ${c.mlpHidden}`,
      `input: ${c.inChans}x${c.imgSize}x${c.imgSize}, patch ${c.patchSize} (${c.numPatches} patches + class token), ${c.numClasses} classes`,
      `parameters: ${params.toLocaleString('en-US')}; forward: ${(flops / 1e6).toFixed(1)} MFLOP per image`,
      `preprocessing: resize ${p.interpolation} to ${Math.floor(p.inputSize[1] / p.cropPct)}, centre crop ${p.inputSize[1]} (crop_pct ${p.cropPct}), mean [${p.mean.join(', ')}], std [${p.std.join(', ')}]`,
    ].join('\n'),
  );
}

async function commandAdapter(values: Values): Promise<void> {
  await withContext(values, async (ctx) => {
    const json = { command: 'adapter', adapter: adapterJson(ctx.adapter), features: [...ctx.features].sort(), timing: ctx.features.has('timestamp-query') ? 'timestamp-query' : 'wall-clock' };
    print(values, json, `adapter: ${describeAdapter(ctx.adapter)}\nfeatures: ${json.features.join(', ')}`);
  });
}

const COMMANDS: Record<string, (v: Values) => Promise<void>> = { eval: commandEval, quantize: commandQuantize, info: commandInfo, adapter: commandAdapter };

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    process.stderr.write(`fimaq: ${(e as Error).message}\n(see fimaq --help)\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    process.stdout.write(`${TOOL_VERSION}\n`);
    return 0;
  }
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  const run = COMMANDS[command];
  if (!run || positionals.length > 1) {
    process.stderr.write(`fimaq: unknown command '${positionals.join(' ')}' (see fimaq --help)\n`);
    return 2;
  }
  try {
    await run(values);
    return 0;
  } catch (e) {
    if (e instanceof FimaqError) {
      process.stderr.write(`fimaq: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

