/**
 * The `fimaq` command line. Every command prints a human summary, or exactly one JSON object on
 * stdout with --json; progress goes to stderr; user errors are one line on stderr with exit code 1.
 */
import { PNG } from 'pngjs';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { decodeImage } from '../data/decode.js';
import type { LabelOptions } from '../data/folder-labels.js';
import { openDataset } from '../data/open.js';
import { preprocessInto } from '../data/preprocess.js';
import { type Classifier, type EvalResult, evaluate, fidelityTo, top1Agreement } from '../inference/evaluate.js';
import { IntVit } from '../inference/int-vit.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { checkOutputs } from '../io/output-paths.js';
import { readQuantizedVit, writeQuantizedVit } from '../io/quantized-file-node.js';
import { loadCheckpoint } from '../model/checkpoint-node.js';
import type { VitCheckpoint } from '../model/checkpoint.js';
import type { VitConfig } from '../model/config.js';
import { type CalibrationMethod, calibrate } from '../quant/calibrate.js';
import { checkpointFolder, checkpointProgress, hasCheckpoint, loadCheckpoint as loadReconCheckpoint, removeCheckpoint, saveFloatWeights, saveState, sha256, tensorsDigest } from '../recon/checkpoint-node.js';
import type { FisherSettings } from '../recon/losses.js';
import { type ReconMethod, type UnitReport, reconstruct, unitNames } from '../recon/reconstruct.js';
import { reconMemory } from '../recon/memory.js';
import { PRESETS, type PresetName, type ReconSettings } from '../recon/settings.js';
import { checkIndices, seededIndices } from '../quant/calibration-set.js';
import { FakeQuantVit } from '../quant/fake-quant-model.js';
import { zeroPointCount } from '../quant/candidates.js';
import { checkBits } from '../quant/pack.js';
import type { QuantizedVit } from '../quant/quantized-model.js';
import { VitModel, forwardFlops, parameterCount } from '../model/vit.js';
import { VitTail } from '../model/vit-tail.js';
import { klGrad } from '../ops/kl-grad.js';
import { ClassTokenGradientStats, empiricalFisher, fimApproximations, lossTermFits, renderHeatmaps } from '../recon/fim-picture.js';
import type { AdapterSummary, GpuContext } from '../runtime/context.js';
import { PACKAGE_ROOT, createNodeContext } from '../runtime/node-gpu.js';
import type { AdapterChoice } from '../runtime/vulkan-env.js';
import { FimaqError } from '../util/errors.js';
import { type OptionName, type Values, checkApplicable, integerOption, listOption, numberOption, optionalPositiveInt, parseCommandLine, positiveInt, seedList, seedOption } from './options.js';
import { dataInput, fileInput, guardOutputs, modelInputs } from './output-guard.js';
import { Progress } from './progress.js';

export const DEMO_MODEL_DIR = join(PACKAGE_ROOT, 'demo', 'fashion-vit');
export const TOOL_VERSION: string = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')).version;

const HELP = `fimaq: FIMA-Q post-training quantization of Vision Transformers on WebGPU

Usage:
  fimaq eval --model <dir|demo|file.safetensors> --data <spec> [--limit N] [--batch B]
             [--engine int|fake|both] [--json]
      Top-1 (and top-5 when there are more than 5 classes) of a float model or of a quantized
      model file. Quantized files run on the integer pipeline (--engine int, the default: packed
      weight codes, integer matrix products) or as the method's fake-quant simulation (fake);
      both runs the two and reports on how many images their top-1 agrees and how far their
      logits differ.
  fimaq infer --model <dir|demo|file.safetensors> --images <file|folder> [more files] [--top 5]
              [--batch 32] [--json]
      Classifies JPEG/PNG images (folders are walked) with a float model or, for a quantized
      model file, the integer pipeline; prints each image's top classes and probabilities.
  fimaq quantize --model <dir|demo> --calib <spec> --out <file> [--method fimaq|diag-fim|lr-fim|brecq-fim|mse|calib|rtn]
                 [--wbits 4] [--abits 4] [--calib-size N] [--seed 3407] [--calib-indices <json>]
                 [--eval <spec> [--limit N]] [--json]
      Post-training quantization into one quantized-model file (default method: fimaq).
      --eval then prints the top-1 of the float model, the calibration-only model and the
      written file side by side (fake-quant evaluation on the first --limit images of <spec>).
        calib  the method's quantizer calibration search (with RepQ-ViT when wbits == abits),
               on --calib-size images (default 128)
        rtn    min/max round-to-nearest, no search
        mse    calibration search on the first --search-size images, then block-wise
               reconstruction (AdaRound, learnable activation scales, QDrop) with the output-MSE
               loss on --calib-size images: the method's QDrop* baseline
        fimaq  the same reconstruction with FIMA-Q's DPLR-FIM loss (Fisher snapshots of KL at
               temperature --temperature through the float rest of the model)
        diag-fim, lr-fim   its diagonal-only and low-rank-only ablations
        brecq-fim  BRECQ's Fisher: each sample's squared gradient, computed once per unit
      Fisher options (fimaq, diag-fim, lr-fim; brecq-fim uses --temperature):
        --k 5 (snapshots, the rank)  --p1 1  --p2 1
        --temperature 20  --dis-mode q|qf (every iters/k steps, or the first k)
        --damping 1e-4 (added to the snapshot Gram matrix, relative to its mean diagonal)
      Calibration images are the first --calib-size of a permutation drawn from --seed, or the
      indices listed in a JSON file. --calib defaults to fashion-mnist:train for the demo model.
      Reconstruction options (fimaq, diag-fim, lr-fim, brecq-fim, mse):
        --preset paper|quick   paper (default): 20000 iterations per unit, batch 32, 1024 images,
                               search on 128 with 128 candidates and 3 rounds; quick: 300
                               iterations of batch 8, 256 images, search on 8 with 32 candidates
                               and 1 round, learning rates x10 (about 10 minutes for the demo
                               on a 2-core CPU)
        --iters N  --batch N  --calib-size N  --search-size N  --search-candidates N
        --search-rounds N  --lr-round X (1e-3)
        --lr-scale X (4e-5, cosine-annealed)  --drop-prob P (0.5; 1 disables QDrop)
        --round-weight X (0.01)  --report-every N (loss read back every N iterations)
        --resume               continue an interrupted run from <out>.partial/ (checkpoints are
                               written after calibration and after each unit; every file in
                               it is checked against the run before use)
        --fresh                discard such a checkpoint and start over (without --resume or
                               --fresh, a run refuses to overwrite a resumable checkpoint)
      --out must end in .safetensors and may not be one of the inputs; while a run writes it,
      <out>.lock names the process, and a second run with the same --out is refused.
      Options the chosen method does not use (e.g. --iters with --method calib) are errors.
  fimaq ablate --model <dir|demo> --calib <spec> --data <spec> [--methods calib,mse,brecq-fim,diag-fim,lr-fim,fimaq]
               [--bits 4,3] [--seeds 3407] [--limit N] [--record <file.json>]
               [reconstruction and Fisher options] [--json]
      The method's ablation: for each seed and bit width (W = A) one calibration search, shared
      by every method; each method's model is evaluated (fake-quant) on --data. Prints a markdown
      table of top-1 and of the mean KL(float || quantized) of the output distributions on the
      same images (mean over seeds, then each seed's value) and, with --json, one object with
      every run's top-1, KL, top-1 agreement with the float model and seconds. --record keeps
      every finished run in a JSON file (rewritten atomically after each run, locked while the
      command runs); run the same command again to skip the runs it holds, e.g. after an
      interruption. Reconstruction and Fisher options are part of the record whatever --methods
      holds, so that runs of other methods added later share them.
  fimaq fim --model <dir|demo> --calib <spec> --out <file.png> [--block 1] [--channels 64]
            [--rank 5] [--bits 4] [--calib-size 256] [--seed 3407] [--json]
      The paper's Figure 1 on this model: the empirical Fisher matrix of KL(T = 20) with one
      block quantized (calibrated, W = A = --bits), over the class token's first --channels
      output channels and --calib-size images, next to its diagonal, rank --rank and DPLR
      approximations, as one PNG (a shared blue-white-red scale); prints each approximation's
      relative Frobenius error, and that of the matrices FIMA-Q's loss terms amount to (built
      from the mean absolute gradient ḡ: diag(ḡ), ḡḡᵀ and their sum, at their best scales),
      |cos| of ḡ with the Fisher matrix's top eigenvectors, and for the class token's gradient
      its largest mean over channels relative to its rms and its share of all tokens' Σ|g|.
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
  --no-bounds-checks                  Node only: compile shaders without the bounds clamping Dawn
                                      adds to every buffer access (same results, about 1.5x faster
                                      on SwiftShader; see README, Speed); reports name it
  --debug                             submit after every op and report WebGPU errors at once
  --json                              print one JSON object on stdout
  -h, --help                          this text
  --version                           the tool version
`;

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
  const ctx = await createNodeContext({ adapter: adapterChoice(values.adapter), boundsChecks: !values['no-bounds-checks'], debug: values.debug });
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

/** Evaluation data: labels must name the model's classes (folder names are matched to them). */
const labelled = (cfg: VitConfig): LabelOptions => ({ numClasses: cfg.numClasses, labelNames: cfg.labelNames, labels: 'required' });
/** Calibration images: labels are not used, so class folders may be named anything. */
const unlabelled = (cfg: VitConfig): LabelOptions => ({ numClasses: cfg.numClasses, labelNames: cfg.labelNames, labels: 'ignore' });

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

const ENGINES = ['int', 'fake', 'both'] as const;

/**
 * Images whose top-1 class two engines agree on, and how far apart their logits are: per image,
 * the largest |a - b| over the classes relative to the image's largest |b|, summarised by its
 * median, 99th percentile and maximum (a code moved across a rounding boundary by float rounding
 * shows up as a rare large difference).
 */
function engineAgreement(a: EvalResult, b: EvalResult, classes: number) {
  let maxAbs = 0;
  const rel = new Float64Array(a.count);
  for (let i = 0; i < a.count; i++) {
    let diff = 0;
    let scale = 0;
    for (let c = 0; c < classes; c++) {
      const x = (a.logits as Float32Array)[i * classes + c];
      const y = (b.logits as Float32Array)[i * classes + c];
      diff = Math.max(diff, Math.abs(x - y));
      scale = Math.max(scale, Math.abs(y));
    }
    maxAbs = Math.max(maxAbs, diff);
    rel[i] = diff / scale;
  }
  rel.sort();
  const at = (q: number) => rel[Math.min(rel.length - 1, Math.floor(q * rel.length))];
  return { top1_agreement: top1Agreement(a, b), max_abs_logit_diff: maxAbs, rel_logit_diff: { median: at(0.5), p99: at(0.99), max: rel[rel.length - 1] } };
}

async function commandEval(values: Values, given: Set<OptionName>): Promise<void> {
  checkApplicable(given, ['model', 'data', 'limit', 'batch', 'engine'], () => 'does not apply to fimaq eval (see fimaq --help)');
  const modelPath = resolveModelPath(values.model);
  if (!values.data) throw new FimaqError('--data is required (for example fashion-mnist:test)');
  const limit = optionalPositiveInt(values.limit, 'limit');
  const batchSize = positiveInt(values.batch, 'batch', 64);
  const engine = values.engine ?? 'int';
  if (!ENGINES.includes(engine as (typeof ENGINES)[number])) throw new FimaqError(`--engine must be one of ${ENGINES.join(', ')}, got '${engine}'`);
  const loaded = await loadModel(modelPath);
  if (!loaded.quantized && values.engine !== undefined) throw new FimaqError(`--engine applies to quantized-model files; ${modelPath} is a float checkpoint`);
  const data = await openDataset(values.data, loaded.config.preprocess, labelled(loaded.config));
  await withContext(values, async (ctx) => {
    const progress = new Progress('eval');
    const run = async (name: string, model: Classifier & { release(): void }) => {
      const r = await evaluate(model, data, { limit, batchSize, keepLogits: engine === 'both', onProgress: (d, t) => progress.update(d, t, name) });
      model.release();
      return r;
    };
    const q = loaded.quantized;
    const results: [string, EvalResult][] = [];
    if (!q) results.push(['float', await run('float', VitModel.upload(ctx, loaded.float as VitCheckpoint))]);
    if (q && engine !== 'fake') results.push(['int', await run('integer', IntVit.upload(ctx, q))]);
    if (q && engine !== 'int') results.push(['fake-quant', await run('fake-quant', FakeQuantVit.upload(ctx, q))]);
    const [name, r] = results[0];
    const info = q?.info;
    const agreement = results.length === 2 ? engineAgreement(results[0][1], results[1][1], loaded.config.numClasses) : null;
    const json = {
      command: 'eval',
      model: modelPath,
      data: data.description,
      engine: name,
      ...(info ? { method: info.method, wbits: info.wbits, abits: info.abits } : {}),
      count: r.count,
      top1: r.top1,
      top5: r.top5,
      seconds: r.seconds,
      images_per_second: r.count / r.seconds,
      batch: batchSize,
      ...(agreement ? { fake_quant: { top1: results[1][1].top1, top5: results[1][1].top5, seconds: results[1][1].seconds }, ...agreement } : {}),
      adapter: adapterJson(ctx.adapter),
    };
    const line = (label: string, x: EvalResult) => `${label}: ${x.count} images, top-1 ${(100 * x.top1).toFixed(2)}%${x.top5 === null ? '' : `, top-5 ${(100 * x.top5).toFixed(2)}%`} in ${x.seconds.toFixed(1)} s`;
    const lines = results.map(([n, x]) => line(`${data.description} (${n})`, x));
    if (agreement) {
      const r = agreement.rel_logit_diff;
      lines.push(
        `engines agree on the top-1 class of ${(100 * agreement.top1_agreement).toFixed(2)}% of images; logit difference relative to the image's largest logit: median ${r.median.toExponential(1)}, 99th percentile ${r.p99.toExponential(1)}, max ${r.max.toExponential(1)}`,
      );
    }
    print(values, json, `${lines.join('\n')}\nadapter: ${describeAdapter(ctx.adapter)}`);
  });
}

const METHODS = ['fimaq', 'diag-fim', 'lr-fim', 'brecq-fim', 'mse', 'calib', 'rtn'] as const;
const RECON_METHODS: readonly Method[] = ['fimaq', 'diag-fim', 'lr-fim', 'brecq-fim', 'mse'];
type Method = (typeof METHODS)[number];

/** The search's candidate tables cross scales with zero-points, so their size must be a multiple of the zero-point count. */
function checkSearchCandidates(settings: ReconSettings, bits: number[]): void {
  const step = Math.max(...bits.map(zeroPointCount));
  if (settings.searchCandidates % step !== 0) {
    throw new FimaqError(`--search-candidates must be a multiple of ${step} at ${Math.max(...bits)} bits (scales x ${step} zero-points), got ${settings.searchCandidates}`);
  }
}

/** Reconstruction settings: the preset, then every option given on the command line. */
function reconSettings(values: Values): ReconSettings {
  const presetName = values.preset ?? 'paper';
  if (!(presetName in PRESETS)) throw new FimaqError(`--preset must be one of ${Object.keys(PRESETS).join(', ')}, got '${presetName}'`);
  const p = PRESETS[presetName as PresetName];
  const int = (name: string, fallback: number) => positiveInt(values[name as keyof Values] as string | undefined, name, fallback);
  const positive = (n: number) => n > 0;
  return {
    ...p,
    iters: int('iters', p.iters),
    batch: int('batch', p.batch),
    calibSize: int('calib-size', p.calibSize),
    searchSize: int('search-size', p.searchSize),
    searchCandidates: int('search-candidates', p.searchCandidates),
    searchRounds: int('search-rounds', p.searchRounds),
    reportEvery: int('report-every', p.reportEvery),
    lrRound: numberOption(values['lr-round'], 'lr-round', p.lrRound, positive, 'a positive number'),
    lrScale: numberOption(values['lr-scale'], 'lr-scale', p.lrScale, (n) => n >= 0, 'a non-negative number'),
    roundWeight: numberOption(values['round-weight'], 'round-weight', p.roundWeight, (n) => n >= 0, 'a non-negative number'),
    dropProb: numberOption(values['drop-prob'], 'drop-prob', p.dropProb, (n) => n > 0 && n <= 1, 'a probability in (0, 1]'),
  };
}

/** Fisher settings of the fimaq, diag-fim and lr-fim methods (the official defaults). */
function fisherSettings(values: Values): FisherSettings {
  const disMode = values['dis-mode'] ?? 'q';
  if (disMode !== 'q' && disMode !== 'qf') throw new FimaqError(`--dis-mode must be q or qf, got '${disMode}'`);
  const nonNegative = (n: number) => n >= 0;
  return {
    k: positiveInt(values.k, 'k', 5),
    p1: numberOption(values.p1, 'p1', 1, nonNegative, 'a non-negative number'),
    p2: numberOption(values.p2, 'p2', 1, nonNegative, 'a non-negative number'),
    temperature: numberOption(values.temperature, 'temperature', 20, (n) => n > 0, 'a positive number'),
    disMode,
    damping: numberOption(values.damping, 'damping', 1e-4, nonNegative, 'a non-negative number'),
  };
}

const RECON_OPTIONS: readonly OptionName[] = ['preset', 'iters', 'batch', 'search-size', 'search-candidates', 'search-rounds', 'lr-round', 'lr-scale', 'drop-prob', 'round-weight', 'report-every'];
const FISHER_METHODS: readonly Method[] = ['fimaq', 'diag-fim', 'lr-fim'];
const FISHER_OPTIONS: readonly OptionName[] = ['k', 'p1', 'p2', 'dis-mode', 'damping', 'temperature'];

/** Why an option is refused for a quantize run whose method does not use it. */
function unusedBy(method: Method): (o: OptionName) => string {
  const methods = `--method ${method}`;
  return (o) => {
    if (RECON_OPTIONS.includes(o) || o === 'resume' || o === 'fresh') return `is a reconstruction option (methods ${RECON_METHODS.join(', ')}); ${methods} does not use it`;
    if (o === 'temperature') return `applies to methods ${[...FISHER_METHODS, 'brecq-fim'].join(', ')}; ${methods} does not use it`;
    if (FISHER_OPTIONS.includes(o)) return `is a Fisher option (methods ${FISHER_METHODS.join(', ')}); ${methods} does not use it`;
    return 'does not apply to fimaq quantize (see fimaq --help)';
  };
}

/** The options a quantize run with `method` uses. */
function quantizeOptions(method: Method): OptionName[] {
  const base: OptionName[] = ['model', 'calib', 'out', 'method', 'wbits', 'abits', 'calib-size', 'seed', 'calib-indices', 'eval', 'limit'];
  if (!RECON_METHODS.includes(method)) return base;
  const fisher: OptionName[] = FISHER_METHODS.includes(method) ? [...FISHER_OPTIONS] : method === 'brecq-fim' ? ['temperature'] : [];
  return [...base, ...RECON_OPTIONS, 'resume', 'fresh', ...fisher];
}

async function commandQuantize(values: Values, given: Set<OptionName>): Promise<void> {
  const method = (values.method ?? 'fimaq') as Method;
  if (!METHODS.includes(method)) throw new FimaqError(`--method must be one of ${METHODS.join(', ')}, got '${values.method}'`);
  checkApplicable(given, quantizeOptions(method), unusedBy(method));
  if (given.has('limit') && !given.has('eval')) throw new FimaqError('--limit applies only with --eval (the images to evaluate on)');
  if (given.has('calib-size') && given.has('calib-indices')) throw new FimaqError('--calib-size and --calib-indices both choose the calibration images; give one of them');
  if (values.resume && values.fresh) throw new FimaqError('--resume continues a checkpoint and --fresh discards it; give one of them');
  const modelPath = resolveModelPath(values.model);
  if (!values.out) throw new FimaqError('--out is required (the quantized-model file to write)');
  const wbits = positiveInt(values.wbits, 'wbits', 4);
  const abits = positiveInt(values.abits, 'abits', 4);
  checkBits(wbits, '--wbits');
  checkBits(abits, '--abits');
  const seed = seedOption(values.seed);
  const settings = RECON_METHODS.includes(method) ? reconSettings(values) : null;
  if (settings) checkSearchCandidates(settings, [wbits, abits]);
  const fisher = settings && method !== 'mse' ? fisherSettings(values) : null;
  const calibSpec = values.calib ?? (values.model === 'demo' ? 'fashion-mnist:train' : undefined);
  if (!calibSpec) throw new FimaqError('--calib is required (the calibration images, e.g. an image folder)');
  const limit = optionalPositiveInt(values.limit, 'limit');
  const out = resolve(values.out);
  const folder = checkpointFolder(out);
  const lock = await guardOutputs(
    `fimaq quantize --method ${method} --out ${values.out}`,
    [{ path: values.out, option: '--out', extension: '.safetensors', what: 'a quantized-model file' }],
    [...modelInputs(modelPath), ...dataInput(calibSpec, '--calib'), ...dataInput(values.eval, '--eval'), ...fileInput(values['calib-indices'], '--calib-indices')],
    settings ? [{ path: folder, what: 'the checkpoint folder of --out' }] : [],
  );
  try {
    if (settings && !values.resume && hasCheckpoint(folder)) {
      if (values.fresh) await removeCheckpoint(folder);
      else {
        const p = await checkpointProgress(folder);
        const state = p ? ` (${p.method}, ${p.done} units done)` : '';
        throw new FimaqError(`${folder}: holds the checkpoint of an unfinished run${state}; --resume continues it, --fresh discards it and starts over`);
      }
    }
    await quantizeLocked(values, { method, wbits, abits, seed, settings, fisher, calibSpec, limit, out, modelPath });
  } finally {
    await lock.release();
  }
}

interface QuantizeRun {
  method: Method;
  wbits: number;
  abits: number;
  seed: number;
  settings: ReconSettings | null;
  fisher: FisherSettings | null;
  calibSpec: string;
  limit: number | undefined;
  out: string;
  modelPath: string;
}

async function quantizeLocked(values: Values, run: QuantizeRun): Promise<void> {
  const { method, wbits, abits, seed, settings, fisher, calibSpec, limit, out, modelPath } = run;
  const ckpt = await loadCheckpoint(modelPath);
  const data = await openDataset(calibSpec, ckpt.config.preprocess, unlabelled(ckpt.config));
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
    indices = seededIndices(data.count, settings ? settings.calibSize : positiveInt(values['calib-size'], 'calib-size', 128), seed);
  }
  const batch = await data.batch(indices);
  const evalData = values.eval ? await openDataset(values.eval, ckpt.config.preprocess, labelled(ckpt.config)) : null;
  const start = performance.now();
  await withContext(values, async (ctx) => {
    /** Top-1 of the float model, the calibration-only model (when there is one) and the written file, side by side. */
    const compare = async (calibrated: QuantizedVit | null): Promise<{ json: Record<string, unknown>; text: string } | null> => {
      if (!evalData) return null;
      const progress = new Progress('eval');
      const top1 = async (label: string, model: Classifier & { release(): void }) => {
        const r = await evaluate(model, evalData, { limit, onProgress: (d, t) => progress.update(d, t, label) });
        model.release();
        return { top1: r.top1, count: r.count };
      };
      const rows: [string, { top1: number; count: number }][] = [['float', await top1('float', VitModel.upload(ctx, ckpt))]];
      if (calibrated) rows.push([`calib W${wbits}A${abits}`, await top1('calibration only', FakeQuantVit.upload(ctx, calibrated))]);
      rows.push([`${method} W${wbits}A${abits}`, await top1(method, FakeQuantVit.upload(ctx, await readQuantizedVit(out)))]);
      const count = rows[0][1].count;
      return {
        json: { data: evalData.description, count, float: rows[0][1].top1, calib: calibrated ? rows[1][1].top1 : null, quantized: rows[rows.length - 1][1].top1 },
        text: `top-1 on ${count} images of ${evalData.description}:\n${rows.map(([name, r]) => `  ${name.padEnd(16)} ${(100 * r.top1).toFixed(2)} %`).join('\n')}`,
      };
    };
    const info = (m: Method, details: Record<string, unknown>): QuantizedVit['info'] => ({
      method: m,
      wbits,
      abits,
      seed,
      calibSize: indices.length,
      calibData: data.description,
      toolVersion: TOOL_VERSION,
      created: new Date().toISOString(),
      details: { ...details, calib_indices: values['calib-indices'] ? 'file' : 'seeded' },
    });
    if (!settings) {
      const progress = new Progress(`${method} W${wbits}A${abits}`);
      const result = await calibrate(ctx, ckpt, batch.pixels, indices.length, {
        method: method as CalibrationMethod,
        wbits,
        abits,
        onProgress: (stage, done, total) => progress.update(done, total, stage),
      });
      const seconds = (performance.now() - start) / 1000;
      await writeQuantizedVit(out, { ...result.quantized, configText: ckpt.configText, info: info(method, { seconds }) });
      const evaluation = await compare(null);
      const json = { command: 'quantize', method, wbits, abits, seed, calib_size: indices.length, calib_data: data.description, seconds, output: out, eval: evaluation?.json ?? null, adapter: adapterJson(ctx.adapter) };
      print(values, json, `${method} W${wbits}A${abits}: calibrated on ${indices.length} images of ${data.description} in ${seconds.toFixed(1)} s\nwrote ${out}${evaluation ? `\n${evaluation.text}` : ''}\nadapter: ${describeAdapter(ctx.adapter)}`);
      return;
    }
    const result = await quantizeReconstruct(ctx, values, { method, fisher, ckpt, pixels: batch.pixels, count: indices.length, indices, settings, wbits, abits, seed, calibData: data.description, out, info });
    const seconds = (performance.now() - start) / 1000;
    const units = result.reports.map((r) => ({
      unit: r.unit, seconds: r.seconds, first_loss: r.losses[0]?.[1], final_loss: r.losses[r.losses.length - 1]?.[1],
      hard_error_before: r.hardError.before, hard_error_after: r.hardError.after,
      ...(r.snapshots && { snapshots: r.snapshots.snapshots, snapshot_grad_min_cosine: r.snapshots.gradMinCosine, snapshot_error_min_cosine: r.snapshots.errorMinCosine }),
    }));
    const json = {
      command: 'quantize', method, wbits, abits, seed, preset: values.preset ?? 'paper', settings, fisher, calib_size: indices.length,
      search_size: Math.min(settings.searchSize, indices.length), calib_data: data.description, resumed_at_unit: result.resumedAt,
      seconds, calib_seconds: result.calibSeconds, recon_seconds: result.reconSeconds, units, output: out, adapter: adapterJson(ctx.adapter),
    };
    const evaluation = await compare(result.calibrated);
    const lines = units.map(
      (u) => `  ${u.unit.padEnd(12)} training loss ${u.first_loss?.toPrecision(4)} -> ${u.final_loss?.toPrecision(4)}, hard-quantized output error ${u.hard_error_before.toPrecision(4)} -> ${u.hard_error_after.toPrecision(4)}${u.snapshots ? `, ${u.snapshots} snapshots (cos >= ${u.snapshot_grad_min_cosine?.toFixed(4)} between mean |g|)` : ''}  ${u.seconds.toFixed(1)} s`,
    );
    print(
      values,
      { ...json, eval: evaluation?.json ?? null },
      `${method} W${wbits}A${abits}: ${settings.iters} iterations per unit on ${indices.length} images in ${seconds.toFixed(1)} s\n${lines.join('\n')}\nwrote ${out}${evaluation ? `\n${evaluation.text}` : ''}\nadapter: ${describeAdapter(ctx.adapter)}`,
    );
  });
}

interface ReconJob {
  method: Method;
  fisher: FisherSettings | null;
  ckpt: VitCheckpoint;
  pixels: Float32Array;
  count: number;
  indices: number[];
  settings: ReconSettings;
  wbits: number;
  abits: number;
  seed: number;
  calibData: string;
  out: string;
  info: (m: Method, details: Record<string, unknown>) => QuantizedVit['info'];
}

/** Calibration search, then reconstruction, with a checkpoint after calibration and after each unit. */
async function quantizeReconstruct(
  ctx: GpuContext,
  values: Values,
  job: ReconJob,
): Promise<{ reports: UnitReport[]; calibrated: QuantizedVit | null; calibSeconds: number; reconSeconds: number; resumedAt: number }> {
  const { ckpt, settings: s, wbits, abits } = job;
  const folder = checkpointFolder(job.out);
  const { reportEvery: _report, ...fingerprinted } = s;
  // Everything a resumed run reads: model config and float weights, the calibration images
  // themselves, and every setting that changes the result.
  const fingerprint = sha256(JSON.stringify({
    method: job.method, config: sha256(ckpt.configText), weights: tensorsDigest(ckpt.weights), wbits, abits, seed: job.seed, data: job.calibData,
    images: sha256(JSON.stringify(job.indices)), pixels: sha256(new Uint8Array(job.pixels.buffer, job.pixels.byteOffset, job.pixels.byteLength)), settings: fingerprinted, fisher: job.fisher,
  }));
  const units = unitNames(ckpt.config.depth).length;
  const resumed = values.resume ? await loadReconCheckpoint(folder, { fingerprint, config: ckpt.config, units, wbits, abits }) : null;
  if (values.resume && !resumed) process.stderr.write(`fimaq: nothing to resume in ${folder}; starting from the beginning\n`);
  const started = performance.now();
  let calibrated: QuantizedVit;
  let float: Map<string, Float32Array>;
  let floatDigest: string;
  if (resumed) {
    ({ quantized: calibrated, float, floatDigest } = resumed);
    process.stderr.write(`fimaq: resuming from ${folder} after ${resumed.done} finished units\n`);
  } else {
    const searchSize = Math.min(s.searchSize, job.count);
    const perImage = job.pixels.length / job.count;
    const progress = new Progress(`calib W${wbits}A${abits}`);
    const result = await calibrate(ctx, ckpt, job.pixels.subarray(0, searchSize * perImage), searchSize, {
      method: 'calib',
      wbits,
      abits,
      eqN: s.searchCandidates,
      rounds: s.searchRounds,
      onProgress: (stage, done, total) => progress.update(done, total, stage),
    });
    calibrated = { ...result.quantized, configText: ckpt.configText, info: job.info('calib', { search_size: searchSize }) };
    float = result.reparameterized;
    floatDigest = await saveFloatWeights(folder, float);
    await saveState(folder, calibrated, 0, { method: job.method, fingerprint, floatDigest });
  }
  const calibSeconds = (performance.now() - started) / 1000;
  const progress = new Progress(`${job.method} W${wbits}A${abits}`);
  const result = await reconstruct(ctx, { ...ckpt, weights: float }, calibrated, job.pixels, job.count, {
    settings: s,
    seed: job.seed,
    method: job.method as ReconMethod,
    fisher: job.fisher ?? undefined,
    done: resumed?.done ?? 0,
    onProgress: (p) => progress.update(p.unitIndex * p.iters + p.iteration, p.units * p.iters, `${p.unit} ${p.iteration}/${p.iters} loss ${p.loss.toPrecision(4)}`),
    onUnitDone: (q, done) => saveState(folder, q, done, { method: job.method, fingerprint, floatDigest }),
  });
  const reconSeconds = (performance.now() - started) / 1000 - calibSeconds;
  const details = {
    preset: values.preset ?? 'paper',
    settings: s,
    fisher: job.fisher,
    search_size: Math.min(s.searchSize, job.count),
    calib_seconds: calibSeconds,
    recon_seconds: reconSeconds,
    units: result.reports.map((r) => ({ unit: r.unit, seconds: r.seconds, losses: r.losses, hard_error: r.hardError, ...(r.snapshots && { snapshots: r.snapshots }) })),
  };
  await writeQuantizedVit(job.out, { ...result.quantized, info: job.info(job.method, details) });
  await removeCheckpoint(folder);
  // After a resume the state holds finished units, so it is no longer the calibration-only model.
  return { reports: result.reports, calibrated: resumed && resumed.done > 0 ? null : calibrated, calibSeconds, reconSeconds, resumedAt: resumed?.done ?? 0 };
}

async function commandInfo(values: Values, given: Set<OptionName>): Promise<void> {
  checkApplicable(given, ['model'], () => 'does not apply to fimaq info (see fimaq --help)');
  const modelPath = resolveModelPath(values.model);
  const { config: c } = await loadModel(modelPath);
  const params = parameterCount(c);
  const flops = forwardFlops(c);
  const recon = reconMemory(c, PRESETS.paper.calibSize);
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
    reconstruction_memory: { images: PRESETS.paper.calibSize, peak_bytes: recon.peakBytes, largest_buffer_bytes: recon.largestTensorBytes },
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
      `reconstruction on ${PRESETS.paper.calibSize} images: ${(recon.peakBytes / 2 ** 20).toFixed(0)} MiB of GPU caches, largest buffer ${(recon.largestTensorBytes / 2 ** 20).toFixed(0)} MiB`,
      `preprocessing: resize ${p.interpolation} to ${Math.floor(p.inputSize[1] / p.cropPct)}, centre crop ${p.inputSize[1]} (crop_pct ${p.cropPct}), mean [${p.mean.join(', ')}], std [${p.std.join(', ')}]`,
    ].join('\n'),
  );
}

async function commandAdapter(values: Values, given: Set<OptionName>): Promise<void> {
  checkApplicable(given, [], () => 'does not apply to fimaq adapter (see fimaq --help)');
  await withContext(values, async (ctx) => {
    const json = { command: 'adapter', adapter: adapterJson(ctx.adapter), features: [...ctx.features].sort(), timing: ctx.features.has('timestamp-query') ? 'timestamp-query' : 'wall-clock' };
    print(values, json, `adapter: ${describeAdapter(ctx.adapter)}\nfeatures: ${json.features.join(', ')}`);
  });
}

interface AblationRun {
  method: Method;
  bits: number;
  seed: number;
  top1: number;
  seconds: number;
  /** Mean KL(float || quantized) of the output distributions on --data, in nats (absent in older records). */
  kl_to_float?: number;
  /** Share of --data images whose top-1 class the quantized and the float model agree on. */
  float_agreement?: number;
}

/**
 * The runs an earlier `ablate --record` finished with the same model, data and settings; an
 * absent file is an empty record, a file made with other settings is refused.
 */
async function readAblationRecord(path: string, setup: Record<string, unknown>): Promise<{ runs: AblationRun[]; floatTop1: number | null }> {
  if (!existsSync(path)) return { runs: [], floatTop1: null };
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new FimaqError(`${path}: not an ablation record (${(e as Error).message})`);
  }
  for (const [key, value] of Object.entries(setup)) {
    if (JSON.stringify(parsed[key]) !== JSON.stringify(value)) {
      throw new FimaqError(`${path}: recorded with a different ${key} (${JSON.stringify(parsed[key])}); use another --record file`);
    }
  }
  if (!Array.isArray(parsed.runs)) throw new FimaqError(`${path}: not an ablation record (no runs)`);
  return { runs: parsed.runs as AblationRun[], floatTop1: typeof parsed.float_top1 === 'number' ? parsed.float_top1 : null };
}

async function commandAblate(values: Values, given: Set<OptionName>): Promise<void> {
  const methods = listOption(values.methods, 'methods', ['calib', 'mse', 'brecq-fim', 'diag-fim', 'lr-fim', 'fimaq'] as Method[], (m) => (METHODS.includes(m as Method) && m !== 'rtn' ? (m as Method) : undefined), `one of ${METHODS.filter((m) => m !== 'rtn').join(', ')}`);
  // Reconstruction and Fisher options are taken whatever --methods holds: they belong to the
  // ablation's record, which later runs of other methods must share.
  checkApplicable(given, ['model', 'calib', 'data', 'methods', 'bits', 'seeds', 'limit', 'record', 'calib-size', ...RECON_OPTIONS, ...FISHER_OPTIONS], () => 'does not apply to fimaq ablate (see fimaq --help)');
  const modelPath = resolveModelPath(values.model);
  if (!values.data) throw new FimaqError('--data is required (the evaluation images, for example fashion-mnist:test)');
  const bitsList = listOption(values.bits, 'bits', [4, 3], (b) => (/^[2-8]$/.test(b) ? Number(b) : undefined), 'a bit width from 2 to 8');
  const seeds = seedList(values.seeds, 'seeds');
  const settings = reconSettings(values);
  checkSearchCandidates(settings, bitsList);
  const fisher = fisherSettings(values);
  const limit = optionalPositiveInt(values.limit, 'limit');
  const calibSpec = values.calib ?? (values.model === 'demo' ? 'fashion-mnist:train' : undefined);
  if (!calibSpec) throw new FimaqError('--calib is required (the calibration images, e.g. an image folder)');
  const lock = values.record
    ? await guardOutputs(
        `fimaq ablate --record ${values.record}`,
        [{ path: values.record, option: '--record', extension: '.json', what: 'a JSON record of the runs' }],
        [...modelInputs(modelPath), ...dataInput(calibSpec, '--calib'), ...dataInput(values.data, '--data')],
      )
    : null;
  try {
    await ablateLocked(values, { methods, bitsList, seeds, settings, fisher, limit, calibSpec, data: values.data, modelPath });
  } finally {
    await lock?.release();
  }
}

interface AblateRun {
  methods: Method[];
  bitsList: number[];
  seeds: number[];
  settings: ReconSettings;
  fisher: FisherSettings;
  limit: number | undefined;
  calibSpec: string;
  data: string;
  modelPath: string;
}

async function ablateLocked(values: Values, run: AblateRun): Promise<void> {
  const { methods, bitsList, seeds, settings, fisher, limit, calibSpec, modelPath } = run;
  const ckpt = await loadCheckpoint(modelPath);
  const calibData = await openDataset(calibSpec, ckpt.config.preprocess, unlabelled(ckpt.config));
  const evalData = await openDataset(run.data, ckpt.config.preprocess, labelled(ckpt.config));
  const setup = { model: modelPath, calib_data: calibData.description, data: evalData.description, limit: limit ?? null, settings, fisher };
  const record = values.record ? await readAblationRecord(values.record, setup) : { runs: [], floatTop1: null };
  const recorded = record.runs;
  const runs: AblationRun[] = [];
  const done = (method: Method, bits: number, seed: number) => recorded.find((r) => r.method === method && r.bits === bits && r.seed === seed);
  await withContext(values, async (ctx) => {
    const progress = new Progress('ablate');
    const total = seeds.length * bitsList.length * methods.length;
    // The float model's outputs on --data, the reference of every run's KL (computed once, when a run is due).
    let floatEval: EvalResult | null = null;
    const floatTop1 = (): number | null => floatEval?.top1 ?? record.floatTop1;
    const floatReference = async (): Promise<EvalResult> => {
      if (!floatEval) {
        const model = VitModel.upload(ctx, ckpt);
        floatEval = await evaluate(model, evalData, { limit, keepLogits: true, onProgress: () => progress.update(runs.length, total, 'float model: evaluating') });
        model.release();
      }
      return floatEval;
    };
    for (const seed of seeds) {
      const indices = seededIndices(calibData.count, settings.calibSize, seed);
      const batch = await calibData.batch(indices);
      const perImage = batch.pixels.length / indices.length;
      const searchSize = Math.min(settings.searchSize, indices.length);
      for (const bits of bitsList) {
        const pending = methods.filter((m) => !done(m, bits, seed));
        for (const m of methods.filter((m) => done(m, bits, seed))) runs.push(done(m, bits, seed) as AblationRun);
        if (pending.length === 0) continue;
        const started = performance.now();
        const cal = await calibrate(ctx, ckpt, batch.pixels.subarray(0, searchSize * perImage), searchSize, { method: 'calib', wbits: bits, abits: bits, eqN: settings.searchCandidates, rounds: settings.searchRounds });
        const calibSeconds = (performance.now() - started) / 1000;
        const info = { method: 'calib', wbits: bits, abits: bits, seed, calibSize: indices.length, calibData: calibData.description, toolVersion: TOOL_VERSION, created: new Date().toISOString() };
        const calibrated: QuantizedVit = { ...cal.quantized, configText: ckpt.configText, info };
        for (const method of pending) {
          // One line per unit and for the evaluation (and every 30 s in logs): a run takes minutes.
          const stage = `W${bits}A${bits} seed ${seed}: ${method}`;
          progress.update(runs.length, total, stage);
          const t0 = performance.now();
          let q = calibrated;
          if (method !== 'calib') {
            const r = await reconstruct(ctx, { ...ckpt, weights: cal.reparameterized }, calibrated, batch.pixels, indices.length, {
              settings,
              seed,
              method: method as ReconMethod,
              fisher,
              onProgress: (p) => progress.update(runs.length, total, `${stage}: ${p.unit}`),
            });
            q = r.quantized;
          }
          const seconds = (performance.now() - t0) / 1000 + calibSeconds;
          const model = FakeQuantVit.upload(ctx, q);
          const r = await evaluate(model, evalData, { limit, keepLogits: true, onProgress: () => progress.update(runs.length, total, `${stage}: evaluating`) });
          model.release();
          const fidelity = fidelityTo(await floatReference(), r, ckpt.config.numClasses);
          runs.push({ method, bits, seed, top1: r.top1, seconds, kl_to_float: fidelity.kl, float_agreement: fidelity.agreement });
          if (values.record) await writeFileAtomic(values.record, new TextEncoder().encode(`${JSON.stringify({ ...setup, float_top1: floatTop1(), runs: [...recorded.filter((x) => !runs.includes(x)), ...runs] }, null, 1)}\n`));
        }
      }
    }
    progress.update(total, total, 'done');
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    // Mean over seeds, then each seed's value in brackets; '—' where a record predates the field.
    const cell = (xs: (number | undefined)[], digits: number) => {
      if (xs.some((v) => v === undefined)) return '—';
      const ys = xs as number[];
      return seeds.length > 1 ? `${mean(ys).toFixed(digits)} (${ys.map((t) => t.toFixed(digits)).join(', ')})` : mean(ys).toFixed(digits);
    };
    const header = `| method | ${bitsList.map((b) => `W${b}A${b} top-1 (%) | W${b}A${b} KL to float (nats)`).join(' | ')} |`;
    const rule = `|---|${bitsList.map(() => '---|---').join('|')}|`;
    const rows = methods.map((m) => {
      const cells = bitsList.map((b) => {
        const of = runs.filter((r) => r.method === m && r.bits === b);
        return `${cell(of.map((r) => 100 * r.top1), 2)} | ${cell(of.map((r) => r.kl_to_float), 4)}`;
      });
      return `| ${m} | ${cells.join(' | ')} |`;
    });
    const floatAccuracy = floatTop1();
    const floatLine = floatAccuracy === null ? [] : [`float model: top-1 ${(100 * floatAccuracy).toFixed(2)} %`];
    const json = { command: 'ablate', ...setup, float_top1: floatAccuracy, seeds, runs, adapter: adapterJson(ctx.adapter) };
    print(values, json, [header, rule, ...rows, '', ...floatLine, `seeds ${seeds.join(', ')}; ${settings.iters} iterations per unit; adapter: ${describeAdapter(ctx.adapter)}`].join('\n'));
  });
}

async function commandFim(values: Values, given: Set<OptionName>): Promise<void> {
  checkApplicable(given, ['model', 'calib', 'out', 'block', 'channels', 'rank', 'bits', 'calib-size', 'seed'], () => 'does not apply to fimaq fim (see fimaq --help)');
  const modelPath = resolveModelPath(values.model);
  if (!values.out) throw new FimaqError('--out is required (the PNG to write)');
  const calibSpec = values.calib ?? (values.model === 'demo' ? 'fashion-mnist:train' : undefined);
  if (!calibSpec) throw new FimaqError('--calib is required (the images to average over)');
  // Written once, atomically, at the end: no checkpoint to share, so no lock.
  checkOutputs([{ path: values.out, option: '--out', extension: '.png', what: 'a PNG picture' }], [...modelInputs(modelPath), ...dataInput(calibSpec, '--calib')]);
  const ckpt = await loadCheckpoint(modelPath);
  const cfg = ckpt.config;
  const block = integerOption(values.block, 'block', Math.min(1, cfg.depth - 1), 0, cfg.depth - 1);
  const channels = positiveInt(values.channels, 'channels', Math.min(64, cfg.embedDim));
  if (channels > cfg.embedDim) throw new FimaqError(`--channels ${channels} exceeds the model's width ${cfg.embedDim}`);
  const rank = positiveInt(values.rank, 'rank', 5);
  const bits = positiveInt(values.bits, 'bits', 4);
  checkBits(bits, '--bits');
  const seed = seedOption(values.seed);
  const data = await openDataset(calibSpec, cfg.preprocess, unlabelled(cfg));
  const indices = seededIndices(data.count, positiveInt(values['calib-size'], 'calib-size', 256), seed);
  const batch = await data.batch(indices);
  const out = resolve(values.out);
  await withContext(values, async (ctx) => {
    const searchSize = Math.min(32, indices.length);
    const perImage = batch.pixels.length / indices.length;
    const cal = await calibrate(ctx, ckpt, batch.pixels.subarray(0, searchSize * perImage), searchSize, { method: 'calib', wbits: bits, abits: bits, eqN: 32, rounds: 1 });
    const info = { method: 'calib', wbits: bits, abits: bits, seed, calibSize: searchSize, calibData: data.description, toolVersion: TOOL_VERSION, created: '' };
    const fq = FakeQuantVit.upload(ctx, { ...cal.quantized, configText: ckpt.configText, info });
    const fp = VitModel.upload(ctx, { ...ckpt, weights: cal.reparameterized });
    const tail = new VitTail(fp, block + 1);
    const grads: Float64Array[] = [];
    const classToken = new ClassTokenGradientStats(cfg.numTokens, cfg.embedDim);
    const progress = new Progress('fim');
    for (let from = 0; from < indices.length; from += 32) {
      const n = Math.min(32, indices.length - from);
      const images = ctx.upload(batch.pixels.subarray(from * perImage, (from + n) * perImage), [n, cfg.inChans, cfg.imgSize, cfg.imgSize], 'fim.images');
      const target = fp.forward(images);
      let x = fp.embed(images);
      for (let i = 0; i < block; i++) {
        const next = fp.block(i, x);
        x.release();
        x = next;
      }
      // Only this block quantized, the rest in float, as the method's Fisher snapshots.
      const z = fq.model.block(block, x, fq.hooks);
      const logits = tail.forward(z);
      const dLogits = klGrad(ctx, logits, target, n, 'fim.dlogits', 20);
      const dz = tail.backward(dLogits);
      const g = await ctx.read(dz);
      const row = cfg.numTokens * cfg.embedDim;
      // Per-sample gradient of the sample's own KL: undo batchmean's 1/n; the class token's first channels.
      for (let b = 0; b < n; b++) grads.push(Float64Array.from(g.subarray(b * row, b * row + channels), (v) => v * n));
      classToken.add(g, n);
      for (const t of [images, target, x, z, logits, dLogits, dz]) t.release();
      progress.update(from + n, indices.length);
    }
    fq.release();
    fp.release();
    const f = empiricalFisher(grads, channels);
    const approx = fimApproximations(f, channels, rank);
    const fits = lossTermFits(grads, f, channels, approx.topVectors);
    const picture = renderHeatmaps([f, approx.diag, approx.lowRank, approx.dplr], channels);
    const png = new PNG({ width: picture.width, height: picture.height });
    png.data = Buffer.from(picture.rgba);
    await writeFileAtomic(out, PNG.sync.write(png));
    const json = {
      command: 'fim', model: modelPath, block, channels, rank, bits, images: indices.length, output: out,
      panels: ['empirical FIM', 'diagonal', `rank ${rank}`, `DPLR (diagonal + rank ${rank})`],
      relative_frobenius_error: { diagonal: approx.errors.diag, low_rank: approx.errors.lowRank, dplr: approx.errors.dplr },
      // The loss's own terms from one snapshot, ḡ = mean |g|: diag(ḡ), ḡḡᵀ and their sum, best non-negative scales.
      loss_terms_relative_frobenius_error: { diagonal: fits.errors.diag, low_rank: fits.errors.lowRank, dplr: fits.errors.dplr },
      mean_abs_grad_cosine_with_top_eigenvectors: fits.topVectorCosines,
      class_token_grad_channel_mean_ratio: classToken.channelMeanRatio,
      class_token_grad_share: classToken.classTokenShare,
      tokens: cfg.numTokens,
      adapter: adapterJson(ctx.adapter),
    };
    const e = approx.errors;
    const t = fits.errors;
    print(values, json, `block ${block}, class token channels 0..${channels - 1}, ${indices.length} images, W${bits}A${bits}\nrelative Frobenius error: diagonal ${e.diag.toFixed(3)}, rank ${rank} ${e.lowRank.toFixed(3)}, DPLR ${e.dplr.toFixed(3)}\nthe loss's terms (ḡ = mean |g|, best scales): diag(ḡ) ${t.diag.toFixed(3)}, ḡḡᵀ ${t.lowRank.toFixed(3)}, both ${t.dplr.toFixed(3)}\n|cos| of ḡ with F's top ${rank} eigenvectors: ${fits.topVectorCosines.map((c) => c.toFixed(3)).join(' ')}\nclass token: largest |mean over channels| / rms of a gradient ${classToken.channelMeanRatio.toExponential(1)}, share of Σ|g| ${classToken.classTokenShare.toFixed(3)} (of ${cfg.numTokens} tokens)\nwrote ${out} (panels: empirical FIM, diagonal, rank ${rank}, DPLR)`);
  });
}

const IMAGE_FILE = /\.(jpe?g|png)$/i;

/** The image files named on the command line: files as given, folders walked (sorted) for .jpg/.jpeg/.png. */
async function imageFiles(items: string[]): Promise<string[]> {
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory()) await walk(path);
      else if (IMAGE_FILE.test(e.name)) files.push(path);
    }
  };
  for (const item of items) {
    if (!existsSync(item)) throw new FimaqError(`${item}: no such image file or folder`);
    if (statSync(item).isDirectory()) await walk(item);
    else files.push(item);
  }
  if (files.length === 0) throw new FimaqError(`no .jpg, .jpeg or .png images in ${items.join(', ')}`);
  return files;
}

async function commandInfer(values: Values, given: Set<OptionName>, extra: string[]): Promise<void> {
  checkApplicable(given, ['model', 'images', 'top', 'batch'], () => 'does not apply to fimaq infer (see fimaq --help)');
  const modelPath = resolveModelPath(values.model);
  const items = [...(values.images ?? []), ...extra];
  if (items.length === 0) throw new FimaqError('--images is required (image files or folders)');
  const loaded = await loadModel(modelPath);
  const cfg = loaded.config;
  const top = Math.min(positiveInt(values.top, 'top', 5), cfg.numClasses);
  const batchSize = positiveInt(values.batch, 'batch', 32);
  const files = await imageFiles(items);
  const names = cfg.labelNames ?? Array.from({ length: cfg.numClasses }, (_, i) => String(i));
  const [c, h, w] = cfg.preprocess.inputSize;
  const size = c * h * w;
  await withContext(values, async (ctx) => {
    const model = loaded.quantized ? IntVit.upload(ctx, loaded.quantized) : VitModel.upload(ctx, loaded.float as VitCheckpoint);
    const results: { image: string; top: { class: number; label: string; probability: number }[] }[] = [];
    for (let from = 0; from < files.length; from += batchSize) {
      const batch = files.slice(from, from + batchSize);
      const pixels = new Float32Array(batch.length * size);
      for (let i = 0; i < batch.length; i++) {
        preprocessInto(decodeImage(new Uint8Array(await readFile(batch[i])), batch[i]), cfg.preprocess, pixels, i * size);
      }
      const images = ctx.upload(pixels, [batch.length, c, h, w], 'images');
      const logitsT = model.forward(images);
      const logits = await ctx.read(logitsT);
      logitsT.release();
      images.release();
      batch.forEach((image, i) => {
        const row = Array.from(logits.subarray(i * cfg.numClasses, (i + 1) * cfg.numClasses));
        const max = Math.max(...row);
        const exp = row.map((v) => Math.exp(v - max));
        const sum = exp.reduce((a, b) => a + b, 0);
        const order = exp.map((_, k) => k).sort((a, b) => exp[b] - exp[a] || a - b);
        results.push({ image, top: order.slice(0, top).map((k) => ({ class: k, label: names[k], probability: exp[k] / sum })) });
      });
    }
    model.release();
    const json = { command: 'infer', model: modelPath, engine: loaded.quantized ? 'int' : 'float', results, adapter: adapterJson(ctx.adapter) };
    const text = results.map((r) => `${r.image}: ${r.top.map((t) => `${t.label} ${(100 * t.probability).toFixed(1)}%`).join(', ')}`);
    print(values, json, text.join('\n'));
  });
}

const COMMANDS: Record<string, (v: Values, given: Set<OptionName>, extra: string[]) => Promise<void>> = {
  eval: commandEval,
  infer: commandInfer,
  quantize: commandQuantize,
  ablate: commandAblate,
  fim: commandFim,
  info: commandInfo,
  adapter: commandAdapter,
};

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandLine(argv);
  } catch (e) {
    process.stderr.write(`fimaq: ${(e as Error).message.replace(/\s*\n\s*/g, ' ')} (see fimaq --help)\n`);
    return 2;
  }
  const { values, positionals, given } = parsed;
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
  if (!run || (positionals.length > 1 && command !== 'infer')) {
    process.stderr.write(`fimaq: unknown command '${positionals.join(' ')}' (see fimaq --help)\n`);
    return 2;
  }
  try {
    await run(values, given, positionals.slice(1));
    return 0;
  } catch (e) {
    if (e instanceof FimaqError) {
      process.stderr.write(`fimaq: ${e.message}\n`);
      return 1;
    }
    // A bug, not the user's input: one line, and the stack only when asked for.
    if (values.debug) process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    else process.stderr.write(`fimaq: internal error: ${String((e as Error).message ?? e).replace(/\s*\n\s*/g, ' ')} (rerun with --debug for the stack trace)\n`);
    return 70;
  }
}

