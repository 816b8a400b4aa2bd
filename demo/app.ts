/**
 * The web app's page: collects the model, the images and the settings, sends them to the worker
 * (worker.ts), and draws what comes back: progress with the unit, iteration, loss and ETA, a loss
 * chart per unit, the top-1 table, each unit's error before and after, the Fisher heat maps, and
 * the integer pipeline's answers for dropped images.
 */
import { type ModelInfo, type SwinModelInfo, memoryPeakPhase } from '../src/pipeline/model-info.js';
import type { PipelineProgress } from '../src/pipeline/quantize.js';
import type { DataSource, FromWorker, ModelSource, RunDescription, RunResult, RunSettings, ToWorker, UnitSummary } from './protocol.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
const send = (msg: ToWorker) => worker.postMessage(msg);

interface Folder {
  name: string;
  files: { path: string; file: File }[];
}
const folders: { calib: Folder | null; eval: Folder | null } = { calib: null, eval: null };
let modelInfo: ModelInfo | SwinModelInfo | null = null;
let labelNames: string[] = [];
let fitProblems: string[] = [];
let busy = false;

// ---- small helpers ----

function text(el: HTMLElement, value: string): void {
  el.textContent = value;
}

/** A message above the sections: 'warning' for what stops the work, 'notice' for what a person should know. */
function warn(message: string, kind: 'warning' | 'notice' = 'warning'): void {
  const p = document.createElement('p');
  p.className = kind;
  p.textContent = message;
  $('warnings').append(p);
}

function row(cells: (string | number)[], header = false): HTMLTableRowElement {
  const tr = document.createElement('tr');
  for (const c of cells) {
    const td = document.createElement(header ? 'th' : 'td');
    td.textContent = String(c);
    if (typeof c === 'number' || /^[\d.,\s%→-]+$/.test(String(c))) td.className = 'num';
    tr.append(td);
  }
  return tr;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const percent = (v: number | null) => (v === null ? '—' : `${(100 * v).toFixed(2)} %`);
const duration = (s: number) => (s < 90 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`);
const optionalInt = (id: string) => {
  const v = $<HTMLInputElement>(id).value.trim();
  return v === '' ? undefined : Number(v);
};

// ---- files: inputs and drops, folders with their relative paths ----

async function entryFiles(entry: FileSystemEntry, path: string, out: { path: string; file: File }[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push({ path: `${path}${entry.name}`, file });
    return;
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  // readEntries returns the entries in pieces; an empty piece means the end.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    for (const e of batch) await entryFiles(e, `${path}${entry.name}/`, out);
  }
}

async function droppedFiles(event: DragEvent): Promise<{ path: string; file: File }[]> {
  const out: { path: string; file: File }[] = [];
  const entries = [...(event.dataTransfer?.items ?? [])].map((i) => i.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
  for (const e of entries) await entryFiles(e, '', out);
  return out;
}

function onDrop(target: HTMLElement, handle: (files: { path: string; file: File }[]) => void): void {
  target.addEventListener('dragover', (e) => {
    e.preventDefault();
    target.classList.add('drop-target');
  });
  target.addEventListener('dragleave', () => target.classList.remove('drop-target'));
  target.addEventListener('drop', (e) => {
    e.preventDefault();
    target.classList.remove('drop-target');
    droppedFiles(e).then(handle, (err: Error) => warn(err.message));
  });
}

const inputFiles = (input: HTMLInputElement) => [...(input.files ?? [])].map((file) => ({ path: file.webkitRelativePath || file.name, file }));

function setFolder(which: 'calib' | 'eval', files: { path: string; file: File }[]): void {
  if (files.length === 0) return;
  const name = files[0].path.split('/')[0];
  folders[which] = { name, files };
  $<HTMLSelectElement>(`${which}-source`).value = 'folder';
  $(`${which}-folder-label`).hidden = false;
  text($('data-status'), `${which === 'calib' ? 'Calibration' : 'Test'} folder ${name}: ${files.length} files.`);
}

function dataSource(which: 'calib' | 'eval'): DataSource | null {
  const kind = $<HTMLSelectElement>(`${which}-source`).value;
  if (kind === 'none') return null;
  if (kind === 'fashion-mnist') return { kind: 'fashion-mnist', split: which === 'calib' ? 'train' : 'test' };
  const folder = folders[which];
  if (!folder) throw new Error(`choose or drop the ${which === 'calib' ? 'calibration' : 'test'} folder first`);
  return { kind: 'folder', ...folder };
}

// ---- model ----

function loadModel(source: ModelSource): void {
  text($('status'), 'Loading the model…');
  send({ type: 'load-model', source });
}

/** The rows of a model's size (a ViT's blocks, or a Swin's stages) and memory. */
function sizeRows(info: ModelInfo | SwinModelInfo): HTMLTableRowElement[] {
  const m = info.memory;
  const memory = row(['GPU memory', `${mib(m.peak_bytes)} at the peak of a ${m.method} run on ${m.calibration_images} images (${memoryPeakPhase(m)}), largest buffer ${mib(m.largest_buffer_bytes)}`]);
  if (info.family === 'swin') {
    const swin = info as SwinModelInfo;
    return [
      row(['input', `${swin.in_chans}x${swin.img_size}x${swin.img_size}, patch ${swin.patch_size}, window ${swin.window_size}`]),
      ...swin.stages.map((s, i) => row([`stage ${i}`, `${s.patch_merging ? 'patch merging, then ' : ''}${s.depth} blocks on ${s.resolution}x${s.resolution} tokens, width ${s.dim}, ${s.num_heads} heads, ${s.windows} windows of ${s.window}x${s.window}`])),
      memory,
    ];
  }
  const vit = info as ModelInfo;
  return [
    row(['input', `${vit.in_chans}x${vit.img_size}x${vit.img_size}, patch ${vit.patch_size}, ${vit.tokens} tokens`]),
    row(['size', `${vit.depth} blocks, width ${vit.embed_dim}, ${vit.num_heads} heads, MLP ${vit.mlp_hidden}, ${vit.num_classes} classes`]),
    memory,
  ];
}

function showModel(info: ModelInfo | SwinModelInfo, blockCount: number): void {
  const t = $<HTMLTableElement>('model-info');
  t.replaceChildren(
    row(['architecture', `${info.architecture} (${info.family})`]),
    ...sizeRows(info),
    row(['parameters', info.parameters.toLocaleString('en-US')]),
    row(['forward', `${(info.flops_per_image / 1e6).toFixed(1)} MFLOP per image`]),
    row(['classes', info.label_names ? info.label_names.join(', ') : 'numbered (no label names)']),
  );
  for (const r of t.rows) r.cells[0].outerHTML = `<th>${r.cells[0].textContent}</th>`;
  t.hidden = false;
  const blocks = $<HTMLSelectElement>('fim-block');
  const chosen = Math.min(1, blockCount - 1);
  blocks.replaceChildren(...Array.from({ length: blockCount }, (_, i) => new Option(String(i), String(i), i === chosen, i === chosen)));
  $('fim-section').hidden = false;
}

// ---- run ----

function settings(): RunSettings {
  return {
    method: $<HTMLSelectElement>('method').value as RunSettings['method'],
    wbits: Number($<HTMLSelectElement>('wbits').value),
    abits: Number($<HTMLSelectElement>('abits').value),
    preset: $<HTMLSelectElement>('preset').value as RunSettings['preset'],
    seed: Number($<HTMLInputElement>('seed').value),
    iters: optionalInt('iters'),
    k: optionalInt('k'),
    calibSize: optionalInt('calib-size'),
    searchSize: optionalInt('search-size'),
    batch: optionalInt('batch'),
    evalImages: Number($<HTMLInputElement>('eval-images').value),
  };
}

function setBusy(on: boolean): void {
  busy = on;
  $<HTMLButtonElement>('start').disabled = on || !modelInfo || fitProblems.length > 0;
  $<HTMLButtonElement>('cancel').disabled = !on;
  $<HTMLButtonElement>('resume').disabled = on;
  $<HTMLButtonElement>('discard').disabled = on;
  $<HTMLButtonElement>('fim-draw').disabled = on || !modelInfo;
  $('progress').hidden = !on;
}

function showUnfinished(d: RunDescription | null): void {
  $('resume').hidden = !d;
  $('discard').hidden = !d;
  $('unfinished').hidden = !d;
  if (d) {
    const s = d.settings;
    text($('unfinished'), `An unfinished run is stored in this browser: ${s.method} W${s.wbits}A${s.abits} of the ${d.model} model on ${d.calib} (seed ${s.seed}). Resume continues it after its last finished unit.`);
  }
}

const phaseStarted = new Map<string, number>();
const losses = new Map<string, [number, number][]>();

function start(resume: boolean): void {
  try {
    const evalSource = dataSource('eval');
    phaseStarted.clear();
    losses.clear();
    drawLosses();
    $('results-section').hidden = true;
    setBusy(true);
    if (resume) send({ type: 'resume', eval: evalSource });
    else {
      const calib = dataSource('calib');
      if (!calib) throw new Error('choose calibration images');
      send({ type: 'quantize', settings: settings(), calib, eval: evalSource });
    }
    showUnfinished(null);
    text($('run-notes'), '');
    text($('status'), resume ? 'Resuming…' : 'Starting…');
  } catch (e) {
    setBusy(false);
    warn((e as Error).message);
  }
}

function showProgress(p: PipelineProgress): void {
  const now = performance.now();
  if (!phaseStarted.has(p.phase)) phaseStarted.set(p.phase, now);
  const frac = p.total > 0 ? p.done / p.total : 0;
  const elapsed = (now - (phaseStarted.get(p.phase) as number)) / 1000;
  const eta = frac > 0 ? duration((elapsed / frac) * (1 - frac)) : '…';
  const bar = $<HTMLProgressElement>('progress');
  bar.value = frac;
  if (p.recon) {
    const r = p.recon;
    text($('status'), `Reconstructing ${p.stage} (unit ${r.unitIndex + 1} of ${r.units}), iteration ${r.iteration} of ${r.iters}, loss ${r.loss.toPrecision(4)}; about ${eta} left`);
    const points = losses.get(p.stage) ?? [];
    points.push([r.iteration / r.iters, r.loss]);
    losses.set(p.stage, points);
    drawLosses();
  } else {
    const what = p.phase === 'calibrate' ? 'Calibrating' : 'Evaluating';
    text($('status'), `${what}: ${p.stage} (${p.done} of ${p.total}); about ${eta} left`);
  }
}

const COLOURS = ['#2f63d3', '#d3572f', '#2fa36b', '#a33fbf', '#c8a11b', '#1b9fc8', '#7a7a7a', '#bf3f6f'];

/** One line per unit: its loss (log scale) against the share of its iterations done. */
function drawLosses(): void {
  const canvas = $<HTMLCanvasElement>('loss-chart');
  const g = canvas.getContext('2d') as CanvasRenderingContext2D;
  g.clearRect(0, 0, canvas.width, canvas.height);
  const all = [...losses.values()].flat().map(([, l]) => Math.log10(Math.max(l, 1e-12)));
  canvas.hidden = all.length === 0;
  const legend = $('loss-legend');
  legend.replaceChildren();
  if (all.length === 0) return;
  const lo = Math.min(...all);
  const hi = Math.max(...all, lo + 1e-6);
  const pad = 30;
  const x = (f: number) => pad + f * (canvas.width - 2 * pad);
  const y = (l: number) => canvas.height - pad - ((Math.log10(Math.max(l, 1e-12)) - lo) / (hi - lo)) * (canvas.height - 2 * pad);
  g.fillStyle = '#5b6575';
  g.font = '11px system-ui';
  g.fillText(`loss 1e${hi.toFixed(1)}`, 2, pad - 8);
  g.fillText(`1e${lo.toFixed(1)}`, 2, canvas.height - 8);
  g.fillText('iterations of each unit →', canvas.width / 2 - 60, canvas.height - 8);
  [...losses.entries()].forEach(([unit, points], i) => {
    const colour = COLOURS[i % COLOURS.length];
    g.strokeStyle = colour;
    g.lineWidth = 1.5;
    g.beginPath();
    points.forEach(([f, l], j) => (j === 0 ? g.moveTo(x(f), y(l)) : g.lineTo(x(f), y(l))));
    g.stroke();
    const key = document.createElement('span');
    key.innerHTML = `<i style="background:${colour}"></i>`;
    key.append(unit);
    legend.append(key);
  });
}

function showResult(r: RunResult): void {
  const s = r.description.settings;
  const bits = `W${s.wbits}A${s.abits}`;
  const t = $<HTMLTableElement>('top1-table');
  t.replaceChildren(row(['model', r.comparison ? `top-1 on ${r.comparison.count} test images` : 'top-1'], true));
  if (r.comparison) {
    const c = r.comparison;
    t.append(row(['float', percent(c.float)]), row([`calibration only ${bits}`, percent(c.calib)]), row([`${s.method} ${bits}`, percent(c.quantized)]));
    for (const [i, key] of (['float', 'calib', 'quantized'] as const).entries()) t.rows[i + 1].dataset.value = String(c[key]);
  } else t.append(row(['no test images were evaluated', '']));
  const u = $<HTMLTableElement>('units-table');
  u.replaceChildren(row(['unit', 'output error before', 'after', 'seconds'], true), ...r.units.map((x: UnitSummary) => row([x.unit, x.hardError.before.toPrecision(4), x.hardError.after.toPrecision(4), x.seconds.toFixed(1)])));
  u.hidden = r.units.length === 0;
  const a = $<HTMLAnchorElement>('download');
  if (a.href) URL.revokeObjectURL(a.href);
  a.href = URL.createObjectURL(new Blob([r.bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  a.download = r.fileName;
  text($('result-note'), `${r.fileName}, ${mib(r.bytes.length)}; ${duration(r.seconds)}. Kept in this browser until the next run.`);
  $('result-note').dataset.seconds = String(r.seconds);
  $('results-section').hidden = false;
  $('infer-section').hidden = false;
  text($('status'), `Done in ${duration(r.seconds)}.`);
}

// ---- Fisher heat maps and inference ----

function drawFim(m: Extract<FromWorker, { type: 'fim' }>): void {
  const canvas = $<HTMLCanvasElement>('fim-canvas');
  canvas.width = m.width;
  canvas.height = m.height;
  (canvas.getContext('2d') as CanvasRenderingContext2D).putImageData(new ImageData(new Uint8ClampedArray(m.rgba), m.width, m.height), 0, 0);
  canvas.hidden = false;
  text($('fim-errors'), `Panels: ${m.panels.join(' | ')}. Relative Frobenius error: diagonal ${m.errors.diag.toFixed(3)}, low rank ${m.errors.lowRank.toFixed(3)}, DPLR ${m.errors.dplr.toFixed(3)}; eig-fim's matrix ${m.eigLossError.toFixed(3)}.`);
  text($('status'), 'Fisher matrix drawn.');
}

function showInference(m: Extract<FromWorker, { type: 'infer' }>): void {
  $<HTMLTableElement>('infer-table').replaceChildren(
    row(['image', 'top classes'], true),
    ...m.results.map((r) => row([r.image, r.top.map((t) => `${t.label} ${(100 * t.probability).toFixed(1)} %`).join(', ')])),
  );
  text($('infer-time'), `${m.msPerImage.toFixed(1)} ms per image on the integer pipeline.`);
}

// ---- messages from the worker ----

worker.onmessage = (event: MessageEvent<FromWorker>) => {
  const m = event.data;
  switch (m.type) {
    case 'hello': {
      const a = m.adapter;
      text($('adapter'), `GPU: ${a.vendor || 'unknown vendor'} ${a.architecture} ${a.description || a.device}`.trim());
      $('adapter').dataset.adapter = JSON.stringify(a);
      if (a.fallback) warn('This adapter is a software fallback (the GPU runs on the CPU): quantization works but is slow; the quick preset is the one to try.', 'notice');
      showUnfinished(m.unfinished);
      if (m.finished) showResult(m.finished);
      if (!modelInfo) loadModel({ kind: 'demo' });
      return;
    }
    case 'no-webgpu':
      text($('adapter'), 'No WebGPU here.');
      warn(`This browser cannot run the engine: ${m.message}. Use a recent Chrome or Edge (on Linux with --enable-unsafe-webgpu).`);
      return;
    case 'model':
      modelInfo = m.info;
      labelNames = m.labelNames;
      fitProblems = m.fitProblems;
      showModel(m.info, m.blocks);
      for (const p of m.fitProblems) warn(`The model does not fit this adapter: ${p}.`);
      setBusy(busy);
      if (!busy) text($('status'), `Model loaded (${labelNames.length} classes). Ready.`);
      return;
    case 'progress':
      showProgress(m.progress);
      return;
    case 'notice':
      text($('status'), m.message);
      text($('run-notes'), m.message);
      return;
    case 'unit':
      text($('status'), `${m.unit.unit} done: output error ${m.unit.hardError.before.toPrecision(3)} → ${m.unit.hardError.after.toPrecision(3)}`);
      return;
    case 'result':
      setBusy(false);
      showResult(m.result);
      return;
    case 'cancelled':
      setBusy(false);
      text($('status'), m.resumable ? 'Cancelled. The finished units are kept: Resume continues from there.' : 'Cancelled.');
      if (m.resumable) send({ type: 'hello', base: document.baseURI });
      return;
    case 'fim':
      setBusy(false);
      drawFim(m);
      return;
    case 'infer':
      showInference(m);
      return;
    case 'error':
      setBusy(false);
      if (m.resumable) {
        // The GPU was lost: a new device is acquired and the run can continue after its finished units.
        warn(`${m.message}. Resume continues the run on a new GPU device.`, 'notice');
        send({ type: 'hello', base: document.baseURI });
      } else warn(m.message);
      text($('status'), 'Stopped by an error (see above).');
      return;
  }
};

// ---- wiring ----

$('use-demo').addEventListener('click', () => loadModel({ kind: 'demo' }));
const modelFiles = (files: File[]) => {
  const config = files.find((f) => f.name === 'config.json');
  const weights = files.find((f) => f.name.endsWith('.safetensors'));
  if (!config || !weights) warn('a checkpoint needs both config.json and model.safetensors');
  else loadModel({ kind: 'files', config, weights });
};
$<HTMLInputElement>('model-files').addEventListener('change', (e) => modelFiles([...((e.target as HTMLInputElement).files ?? [])]));
onDrop($('model-section'), (files) => modelFiles(files.map((f) => f.file)));
for (const which of ['calib', 'eval'] as const) {
  $<HTMLSelectElement>(`${which}-source`).addEventListener('change', (e) => ($(`${which}-folder-label`).hidden = (e.target as HTMLSelectElement).value !== 'folder'));
  $<HTMLInputElement>(`${which}-folder`).addEventListener('change', (e) => setFolder(which, inputFiles(e.target as HTMLInputElement)));
  onDrop($(`${which}-folder-label`), (files) => setFolder(which, files));
}
$('start').addEventListener('click', () => start(false));
$('resume').addEventListener('click', () => start(true));
$('discard').addEventListener('click', () => {
  send({ type: 'discard' });
  showUnfinished(null);
});
$('cancel').addEventListener('click', () => send({ type: 'cancel' }));
$('fim-draw').addEventListener('click', () => {
  try {
    const calib = dataSource('calib');
    if (!calib) throw new Error('choose calibration images');
    setBusy(true);
    const s = settings();
    send({ type: 'fim', block: Number($<HTMLSelectElement>('fim-block').value), channels: 64, rank: 5, bits: s.wbits, images: Number($<HTMLInputElement>('fim-images').value), calib });
  } catch (e) {
    warn((e as Error).message);
  }
});
const inferFiles = (files: File[]) => send({ type: 'infer', files, top: 5 });
$<HTMLInputElement>('infer-files').addEventListener('change', (e) => inferFiles([...((e.target as HTMLInputElement).files ?? [])]));
onDrop($('infer-section'), (files) => inferFiles(files.map((f) => f.file)));

send({ type: 'hello', base: document.baseURI });
