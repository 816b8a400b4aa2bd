/**
 * The `fimaq` command line. Every command prints a human summary, or exactly one JSON object on
 * stdout with --json; progress goes to stderr; user errors are one line on stderr with exit code 1.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { openDataset } from '../data/open.js';
import { evaluate } from '../inference/evaluate.js';
import { loadCheckpoint } from '../model/checkpoint-node.js';
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
  fimaq eval --model <dir|demo> --data <spec> [--limit N] [--batch B] [--json]
      Top-1 (and top-5 when there are more than 5 classes) of a float model.
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

async function commandEval(values: Values): Promise<void> {
  const modelPath = resolveModelPath(values.model);
  if (!values.data) throw new FimaqError('--data is required (for example fashion-mnist:test)');
  const limit = positiveInt(values.limit, 'limit');
  const batchSize = positiveInt(values.batch, 'batch', 64) as number;
  const ckpt = await loadCheckpoint(modelPath);
  const data = await openDataset(values.data, ckpt.config.preprocess);
  await withContext(values, async (ctx) => {
    const model = VitModel.upload(ctx, ckpt);
    const progress = new Progress('eval');
    const r = await evaluate(model, data, { limit, batchSize, onProgress: (d, t) => progress.update(d, t) });
    model.release();
    const json = {
      command: 'eval',
      model: modelPath,
      data: data.description,
      engine: 'float',
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

async function commandInfo(values: Values): Promise<void> {
  const modelPath = resolveModelPath(values.model);
  const { config: c } = await loadCheckpoint(modelPath);
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

const COMMANDS: Record<string, (v: Values) => Promise<void>> = { eval: commandEval, info: commandInfo, adapter: commandAdapter };

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

