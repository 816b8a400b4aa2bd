/**
 * The web app's worker: owns the GPU context, the model and the run's browser storage, and runs
 * the same pipeline as the CLI (src/pipeline), so the page stays responsive. One run at a time,
 * kept in the origin private file system under the name 'current': its settings, the model when
 * it was dropped, the calibration images and the checkpoint, so that a reload can resume it.
 */
import { fashionMnistFromUrl, imageFolderFromFiles } from '../src/browser/datasets.js';
import { createBrowserContext } from '../src/browser/engine.js';
import { OpfsStore } from '../src/browser/opfs-store.js';
import type { Dataset } from '../src/data/dataset.js';
import type { LabelOptions } from '../src/data/folder-labels.js';
import { decodeImage } from '../src/data/decode.js';
import { preprocess } from '../src/data/preprocess.js';
import { uploadIntModel } from '../src/inference/int-model.js';
import { checkpointFromBytes } from '../src/io/checkpoint-file.js';
import { parseQuantizedModel } from '../src/io/quantized-file.js';
import type { ModelCheckpoint } from '../src/model/checkpoint.js';
import type { ModelConfig } from '../src/model/model-config.js';
import { compareTop1 } from '../src/pipeline/compare.js';
import { fimBlocks, fisherPicture } from '../src/pipeline/fim.js';
import { memoryFitProblems, modelInfo, swinModelInfo } from '../src/pipeline/model-info.js';
import { type CalibrationImages, type QuantizeRequest, calibrationImages, isReconMethod, quantizeModel } from '../src/pipeline/quantize.js';
import { DEFAULT_FISHER } from '../src/recon/losses.js';
import { PRESETS } from '../src/recon/settings.js';
import type { GpuContext } from '../src/runtime/context.js';
import { DeviceLostError } from '../src/util/errors.js';
import packageJson from '../package.json';
import type { DataSource, FromWorker, ModelSource, RunDescription, RunResult, RunSettings, ToWorker, UnitSummary } from './protocol.js';

const RUN = 'current';
const post = (message: FromWorker, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(message, transfer);

let base = '';
let ctx: GpuContext | null = null;
/** The model; `weights` are kept for a dropped model, so that a run can store them for a resume. */
let model: { ckpt: ModelCheckpoint; label: string; weights: Uint8Array | null } | null = null;
let running: AbortController | null = null;
let lastFile: Uint8Array | null = null;

const labelled = (cfg: ModelConfig): LabelOptions => ({ numClasses: cfg.numClasses, labelNames: cfg.labelNames, labels: 'required' });
const unlabelled = (cfg: ModelConfig): LabelOptions => ({ numClasses: cfg.numClasses, labelNames: cfg.labelNames, labels: 'ignore' });
const json = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));
const parse = <T>(bytes: Uint8Array | null): T | null => (bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as T) : null);

async function fetchBytes(path: string): Promise<Uint8Array> {
  const url = new URL(path, base);
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function loadModel(source: ModelSource): Promise<{ ckpt: ModelCheckpoint; label: string; weights: Uint8Array }> {
  const [configText, weights, label] =
    source.kind === 'demo'
      ? [new TextDecoder().decode(await fetchBytes('fashion-vit/config.json')), await fetchBytes('fashion-vit/model.safetensors'), 'demo']
      : [await source.config.text(), new Uint8Array(await source.weights.arrayBuffer()), source.weights.name];
  return { ckpt: checkpointFromBytes(configText, weights, source.kind === 'demo' ? 'demo' : 'dropped model'), label, weights };
}

function openData(source: DataSource, cfg: ModelConfig, labels: LabelOptions): Promise<Dataset> {
  if (source.kind === 'fashion-mnist') return fashionMnistFromUrl(new URL('fashion-mnist', base).href, source.split, cfg.preprocess, labels);
  return imageFolderFromFiles(source.files, cfg.preprocess, labels);
}

const describeData = (d: DataSource) => (d.kind === 'fashion-mnist' ? `fashion-mnist:${d.split}` : `folder ${d.name} (${d.files.length} files)`);

/** Calibration images of a run: the page's number, else the preset's (reconstruction) or 128, as the CLI. */
function calibCount(s: RunSettings): number {
  return s.calibSize ?? (isReconMethod(s.method) ? PRESETS[s.preset].calibSize : 128);
}

/** Reconstruction and Fisher settings from the page's: the preset, then each setting given. */
function methodSettings(s: RunSettings, images: number): Pick<QuantizeRequest, 'settings' | 'fisher'> {
  const preset = PRESETS[s.preset];
  const recon = isReconMethod(s.method);
  return {
    settings: recon ? { ...preset, iters: s.iters ?? preset.iters, batch: s.batch ?? preset.batch, calibSize: images, searchSize: s.searchSize ?? preset.searchSize } : undefined,
    fisher: recon && s.method !== 'mse' ? { ...DEFAULT_FISHER, k: s.k ?? DEFAULT_FISHER.k } : undefined,
  };
}

/** The pipeline's request from the page's settings. */
function pipelineRequest(ckpt: ModelCheckpoint, s: RunSettings, calibration: CalibrationImages): QuantizeRequest {
  return {
    checkpoint: ckpt,
    calibration,
    method: s.method,
    wbits: s.wbits,
    abits: s.abits,
    seed: s.seed,
    ...methodSettings(s, calibration.count),
    preset: s.preset,
    toolVersion: packageJson.version,
  };
}

interface StoredCalibration {
  name: string;
  selection: 'seeded' | 'file';
  indices: number[];
  count: number;
}

async function runPipeline(store: OpfsStore, description: RunDescription, ckpt: ModelCheckpoint, calibration: CalibrationImages, evalSource: DataSource | null, resume: boolean): Promise<void> {
  const context = ctx as GpuContext;
  running = new AbortController();
  const signal = running.signal;
  const started = performance.now();
  const units: UnitSummary[] = [];
  try {
    const request = pipelineRequest(ckpt, description.settings, calibration);
    const r = await quantizeModel(context, request, {
      store,
      checkpoints: resume ? 'resume' : 'fresh',
      signal,
      onProgress: (progress) => post({ type: 'progress', progress }),
      onNotice: (message) => post({ type: 'notice', message }),
      onUnitDone: (u) => {
        const unit = { unit: u.unit, seconds: u.seconds, losses: u.losses, hardError: u.hardError };
        units.push(unit);
        post({ type: 'unit', unit });
      },
    });
    let comparison = null;
    if (evalSource && description.settings.evalImages > 0) {
      const data = await openData(evalSource, ckpt.config, labelled(ckpt.config));
      comparison = await compareTop1(context, { float: ckpt, calibrated: r.calibrated, quantized: r.quantized }, data, {
        limit: description.settings.evalImages,
        signal,
        onProgress: (progress) => post({ type: 'progress', progress }),
      });
    }
    const fileName = `${ckpt.config.architecture}-${description.settings.method}-w${description.settings.wbits}a${description.settings.abits}.safetensors`;
    const result: RunResult = { description, comparison, units, seconds: (performance.now() - started) / 1000, fileName, bytes: r.bytes };
    lastFile = r.bytes;
    await store.writeExtra('result.json', json({ ...result, bytes: undefined }));
    post({ type: 'result', result: { ...result, bytes: r.bytes.slice() } });
  } catch (e) {
    if (signal.aborted) post({ type: 'cancelled', resumable: await storeHasCheckpoint(store) });
    else throw e;
  } finally {
    running = null;
  }
}

async function storeHasCheckpoint(store: OpfsStore): Promise<boolean> {
  return (await store.read('state')) !== null;
}

async function quantize(settings: RunSettings, calibSource: DataSource, evalSource: DataSource | null): Promise<void> {
  if (!model) throw new Error('load a model first');
  const { ckpt } = model;
  const calibData = await openData(calibSource, ckpt.config, unlabelled(ckpt.config));
  const calibration = await calibrationImages(calibData, calibCount(settings), settings.seed);
  // A new run replaces the last one: everything a reload needs to resume this one is stored first.
  await OpfsStore.remove(RUN);
  const store = await OpfsStore.open(RUN);
  const description: RunDescription = { settings, model: model.label, calib: describeData(calibSource), eval: evalSource ? describeData(evalSource) : null };
  if (model.weights) {
    await store.writeExtra('model-config.json', new TextEncoder().encode(ckpt.configText));
    await store.writeExtra('model.safetensors', model.weights);
  }
  const meta: StoredCalibration = { name: calibration.name, selection: calibration.selection, indices: [...calibration.indices], count: calibration.count };
  await store.writeExtra('calibration.json', json(meta));
  await store.writeExtra('calibration.f32', new Uint8Array(calibration.pixels.buffer, calibration.pixels.byteOffset, calibration.pixels.byteLength));
  await store.writeExtra('run.json', json({ description, storedModel: model.weights !== null }));
  await runPipeline(store, description, ckpt, calibration, evalSource, false);
}

async function resume(evalSource: DataSource | null): Promise<void> {
  const store = await OpfsStore.open(RUN);
  const run = parse<{ description: RunDescription; storedModel: boolean }>(await store.readExtra('run.json'));
  const meta = parse<StoredCalibration>(await store.readExtra('calibration.json'));
  const pixels = await store.readExtra('calibration.f32');
  if (!run || !meta || !pixels) throw new Error('there is no unfinished run to resume');
  if (run.storedModel) {
    const config = await store.readExtra('model-config.json');
    const weights = await store.readExtra('model.safetensors');
    if (!config || !weights) throw new Error('the unfinished run lost its model files');
    model = { ckpt: checkpointFromBytes(new TextDecoder().decode(config), weights, 'stored model'), label: run.description.model, weights };
  } else {
    model = { ...(await loadModel({ kind: 'demo' })), weights: null };
  }
  const { ckpt } = model;
  postModel(ckpt, run.description.settings);
  const calibration: CalibrationImages = { ...meta, pixels: new Float32Array(pixels.buffer.slice(pixels.byteOffset, pixels.byteOffset + pixels.byteLength)) };
  await runPipeline(store, run.description, ckpt, calibration, evalSource, true);
}

function postModel(ckpt: ModelCheckpoint, settings?: RunSettings): void {
  const c = ctx as GpuContext;
  const blocks = fimBlocks(ckpt.config).length;
  // The page's settings, or a quick-preset FIMA-Q run before any are chosen.
  const s: RunSettings = settings ?? { method: 'fimaq', wbits: 4, abits: 4, preset: 'quick', seed: 0, evalImages: 0 };
  const images = calibCount(s);
  const shape = { method: s.method, wbits: s.wbits, abits: s.abits, images, ...methodSettings(s, images), chunkBytes: c.limits.maxStorageBufferBindingSize };
  const info = ckpt.config.family === 'swin' ? swinModelInfo(ckpt.config, shape) : modelInfo(ckpt.config, shape);
  post({ type: 'model', info, blocks, fitProblems: memoryFitProblems(info.memory, c.limits), labelNames: labelNamesOf(ckpt.config) });
}

function labelNamesOf(cfg: ModelConfig): string[] {
  return cfg.labelNames ?? Array.from({ length: cfg.numClasses }, (_, i) => String(i));
}

/** The stored run: unfinished (a checkpoint or its inputs without a result) or finished. */
async function storedRun(): Promise<{ unfinished: RunDescription | null; finished: RunResult | null }> {
  if (!(await OpfsStore.runs()).includes(RUN)) return { unfinished: null, finished: null };
  const store = await OpfsStore.open(RUN);
  const run = parse<{ description: RunDescription }>(await store.readExtra('run.json'));
  const result = parse<Omit<RunResult, 'bytes'>>(await store.readExtra('result.json'));
  const bytes = await store.readOutput();
  if (result && bytes) {
    lastFile = bytes;
    return { unfinished: null, finished: { ...result, bytes } };
  }
  return { unfinished: run?.description ?? null, finished: null };
}

async function fim(msg: Extract<ToWorker, { type: 'fim' }>): Promise<void> {
  if (!model) throw new Error('load a model first');
  const { ckpt } = model;
  const data = await openData(msg.calib, ckpt.config, unlabelled(ckpt.config));
  const calibration = await calibrationImages(data, Math.min(msg.images, data.count), 3407);
  running = new AbortController();
  try {
    const r = await fisherPicture(
      ctx as GpuContext,
      { checkpoint: ckpt, pixels: calibration.pixels, count: calibration.count, block: msg.block, channels: Math.min(msg.channels, fimBlocks(ckpt.config)[msg.block]!.width), rank: msg.rank, bits: msg.bits, toolVersion: packageJson.version },
      (done, total) => post({ type: 'progress', progress: { phase: 'evaluate', stage: 'Fisher matrix', done, total } }),
      running.signal,
    );
    post({ type: 'fim', ...r.picture, panels: r.panels, errors: r.errors, eigLossError: r.eigLoss.sliceError }, [r.picture.rgba.buffer]);
  } finally {
    running = null;
  }
}

/** Top classes of dropped images on the integer pipeline of the last quantized file. */
async function infer(files: File[], top: number): Promise<void> {
  if (!lastFile) throw new Error('quantize a model first: the integer pipeline runs the quantized file');
  const q = parseQuantizedModel(lastFile, 'the quantized file');
  const c = ctx as GpuContext;
  const cfg = q.config;
  const net = uploadIntModel(c, q);
  const names = cfg.labelNames ?? Array.from({ length: cfg.numClasses }, (_, i) => String(i));
  const [ch, h, w] = cfg.preprocess.inputSize;
  const results: { image: string; top: { label: string; probability: number }[] }[] = [];
  let ms = 0;
  try {
    for (const file of files) {
      const pixels = preprocess(await decodeImage(new Uint8Array(await file.arrayBuffer()), file.name), cfg.preprocess);
      const t0 = performance.now();
      const logits = await c.read(net.forward(c.upload(pixels, [1, ch, h, w], 'image')));
      ms += performance.now() - t0;
      const max = Math.max(...logits);
      const exp = Array.from(logits, (v) => Math.exp(v - max));
      const sum = exp.reduce((a, b) => a + b, 0);
      const order = exp.map((_, k) => k).sort((a, b) => exp[b] - exp[a] || a - b);
      results.push({ image: file.name, top: order.slice(0, top).map((k) => ({ label: names[k], probability: exp[k] / sum })) });
    }
  } finally {
    net.release();
  }
  post({ type: 'infer', results, msPerImage: ms / Math.max(1, files.length) });
}

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case 'hello': {
      base = msg.base;
      try {
        ctx ??= await createBrowserContext();
      } catch (e) {
        post({ type: 'no-webgpu', message: (e as Error).message });
        return;
      }
      const stored = await storedRun();
      post({ type: 'hello', adapter: ctx.adapter, limits: { maxBufferSize: ctx.limits.maxBufferSize, maxStorageBufferBindingSize: ctx.limits.maxStorageBufferBindingSize }, ...stored });
      return;
    }
    case 'load-model': {
      const loaded = await loadModel(msg.source);
      model = { ...loaded, weights: msg.source.kind === 'files' ? loaded.weights : null };
      postModel(loaded.ckpt);
      return;
    }
    case 'quantize':
      return quantize(msg.settings, msg.calib, msg.eval);
    case 'resume':
      return resume(msg.eval);
    case 'discard':
      await OpfsStore.remove(RUN);
      return;
    case 'fim':
      return fim(msg);
    case 'infer':
      return infer(msg.files, msg.top);
  }
}

/** Messages are handled one after the other, except cancel, which must not wait behind its run. */
let queue: Promise<void> = Promise.resolve();
self.onmessage = (event: MessageEvent<ToWorker>) => {
  const msg = event.data;
  if (msg.type === 'cancel') {
    running?.abort();
    return;
  }
  queue = queue.then(() => handle(msg)).catch((e: unknown) => {
    // A lost device cannot be used again: the next request gets a new one.
    if (e instanceof DeviceLostError) ctx = null;
    post({ type: 'error', message: e instanceof Error ? e.message : String(e), resumable: e instanceof DeviceLostError && e.resumable });
  });
};
