/**
 * The dispatch census ([E9]): every dispatch of the phases of a paper-preset run on a random-weight
 * model of a named shape, recorded in the runtime's census record-only mode (nothing runs, so it
 * needs no GPU and takes minutes on SwiftShader), with its kernel, workgroups, invocations, FLOPs
 * and bytes; then the time of each phase, and of a whole paper-preset FIMA-Q run, projected onto
 * the GPUs of bench/gpus.json by a roofline (bench/census-roofline.ts), with the dispatches that
 * leave compute units idle flagged.
 *
 * Phases: calibration_unit (one block's calibration search at the preset's search size; also
 * calibration_patch_embed and calibration_head), recon_step_mse and recon_step_fimaq (one step of
 * a block; also the patch embedding's and the head's), fisher_snapshot (block 0's, over the
 * whole cache: once, then one batch repeated), forward_float, forward_fake and forward_int (a batch
 * of 32 images).
 *
 * Run: npm run bench:census -- --model deit_small|vit_base|demo [--json] [--record]
 *      npm run bench:census -- --markdown   (the README tables from bench/results/census-*.json)
 * --json prints one JSON object on stdout (progress goes to stderr); --record writes it to
 * bench/results/census-<model>.json.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VitModel } from '../src/model/vit.js';
import { DEFAULT_FISHER } from '../src/recon/losses.js';
import { HARD_ERROR_IMAGES } from '../src/recon/reconstruct.js';
import { unitNames } from '../src/recon/unit-graph.js';
import { PRESETS } from '../src/recon/settings.js';
import { PACKAGE_ROOT } from '../src/runtime/node-gpu.js';
import { configureVulkanEnv } from '../src/runtime/vulkan-env.js';
import {
  CENSUS_BITS, CENSUS_MODELS, type CensusModel, CensusRecorder, type Phase, censusModels, recordCalibration, recordFisherSnapshot, recordForward, recordReconSteps,
} from './census-record.js';
import { Roofline, loadGpus, once, phaseTotals } from './census-roofline.js';
import { sourceCommit } from '../src/io/source-commit.js';

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const settings = PRESETS.paper;
const fisher = DEFAULT_FISHER;
const FORWARD_BATCH = 32;
const RESULTS = join(PACKAGE_ROOT, 'bench', 'results');

interface Projection {
  gpu: string;
  /** One reconstruction step of a block, FIMA-Q loss. */
  step_ms: number;
  step_ms_mse: number;
  step_dispatches: number;
  /** The share of step_ms that is launch overhead. */
  step_launch_share: number;
  /** A whole paper-preset FIMA-Q run of this model. */
  paper_hours: number;
  paper_hours_mse: number;
  /** The FIMA-Q run if the kernels reached half the assumed share of peak FLOP/s. */
  paper_hours_half_flop_efficiency: number;
  paper_breakdown_hours: Record<string, number>;
  top_kernels: { kernel: string; hours: number; share: number }[];
  flagged: { phase: string; kernel: string; workgroups: number; bytes: number; flops: number; us: number; count: number }[];
}

interface CensusRecord {
  model: string;
  command: string;
  commit: string;
  date: string;
  adapter: unknown;
  note: string;
  settings: Record<string, unknown>;
  assumptions: Record<string, unknown>;
  phases: Record<string, Phase & { totals: ReturnType<typeof phaseTotals> }>;
  projections: Projection[];
}

const progress = (msg: string) => process.stderr.write(`census: ${msg}\n`);

async function census(model: CensusModel): Promise<CensusRecord> {
  const started = performance.now();
  const rec = await CensusRecorder.create();
  const m = censusModels(model);
  const depth = m.float.config.depth;
  const units = unitNames(m.float.config);
  const phases: Record<string, Phase> = {};

  progress(`${model}: calibration (one block of a one-block model, ${settings.searchSize} images, ${settings.searchCandidates} candidates, ${settings.searchRounds} rounds)`);
  const calib = await recordCalibration(rec, model, settings);
  phases.calibration_patch_embed = once(calib.patch_embed, `calibration of the patch embedding (with every image's tokens), ${settings.searchSize} images`);
  phases.calibration_unit = once(calib.block, `calibration of one block: capture forward, RepQ-ViT, the four linears' and two matmuls' searches, ${settings.searchSize} images`);
  phases.calibration_head = once(calib.head, `calibration of the head, ${settings.searchSize} images`);

  progress(`${model}: reconstruction steps (caches of ${settings.calibSize} images, batch ${settings.batch})`);
  const fp = VitModel.upload(rec.ctx, m.float);
  const block = await recordReconSteps(rec, m, fp, 'blocks.0', ['mse', 'fimaq'], settings, fisher);
  const patch = await recordReconSteps(rec, m, fp, 'patch_embed', ['mse', 'fimaq'], settings, fisher);
  const head = await recordReconSteps(rec, m, fp, 'head', ['kl'], settings, fisher);
  const step = (unit: string, loss: string) => `one reconstruction step of ${unit}, ${loss} loss, batch ${settings.batch}, caches of ${settings.calibSize} images`;
  phases.recon_step_mse = once(block.mse, step('a block', 'MSE (QDrop)'));
  phases.recon_step_fimaq = once(block.fimaq, step('a block', `FIMA-Q (DPLR, rank ${fisher.k})`));
  phases.recon_step_patch_embed_mse = once(patch.mse, step('the patch embedding', 'MSE'));
  phases.recon_step_patch_embed_fimaq = once(patch.fimaq, step('the patch embedding', 'FIMA-Q'));
  phases.recon_step_head = once(head.kl, step('the head', 'KL'));

  progress(`${model}: Fisher snapshots of ${units.length - 1} units`);
  const snapshots: Phase[] = [];
  for (const unit of units.slice(0, -1)) snapshots.push(await recordFisherSnapshot(rec, m, fp, unit, settings, fisher));
  fp.release();
  phases.fisher_snapshot = snapshots[1];

  progress(`${model}: forwards of ${FORWARD_BATCH} images`);
  for (const pipeline of ['float', 'fake', 'int'] as const) {
    phases[`forward_${pipeline}`] = once(await recordForward(rec, m, pipeline, FORWARD_BATCH), `one ${pipeline === 'fake' ? 'fake-quant' : pipeline === 'int' ? 'integer' : 'float'} forward of ${FORWARD_BATCH} images`);
  }
  const adapter = rec.ctx.adapter;
  await rec.dispose();
  progress(`${model}: recorded in ${((performance.now() - started) / 1000).toFixed(0)} s`);

  const gpus = loadGpus();
  const batchesOf = (images: number) => images / settings.batch;
  // A paper-preset run as work terms. Data preparation is approximate: each unit runs its own
  // part of the model over the cache, so over all units it adds up to about one float forward
  // (float outputs) and one fake-quant forward (quantized-prefix inputs) of every cached image,
  // plus the float logits (Fisher methods) and the hard errors before and after each unit.
  const run = (method: 'fimaq' | 'mse') => [
    { part: 'calibration', phase: phases.calibration_patch_embed, times: 1 },
    { part: 'calibration', phase: phases.calibration_unit, times: depth },
    { part: 'calibration', phase: phases.calibration_head, times: 1 },
    { part: 'reconstruction steps', phase: method === 'fimaq' ? phases.recon_step_patch_embed_fimaq : phases.recon_step_patch_embed_mse, times: settings.iters },
    { part: 'reconstruction steps', phase: method === 'fimaq' ? phases.recon_step_fimaq : phases.recon_step_mse, times: settings.iters * depth },
    { part: 'reconstruction steps', phase: phases.recon_step_head, times: settings.iters },
    ...(method === 'fimaq' ? snapshots.map((phase) => ({ part: 'Fisher snapshots', phase, times: fisher.k })) : []),
    { part: 'data preparation (approx.)', phase: phases.forward_float, times: batchesOf(settings.calibSize) * (method === 'fimaq' ? 2 : 1) },
    { part: 'data preparation (approx.)', phase: phases.forward_fake, times: batchesOf(settings.calibSize) + batchesOf(2 * HARD_ERROR_IMAGES) },
  ];

  const projections = gpus.gpus.map((gpu): Projection => {
    const r = new Roofline(gpu, gpus.assumptions);
    const byKernel = new Map<string, number>();
    const parts: Record<string, number> = {};
    let total = 0;
    for (const t of run('fimaq')) {
      const s = r.phase(t.phase, t.times, byKernel);
      parts[t.part] = (parts[t.part] ?? 0) + s / 3600;
      total += s;
    }
    const mse = run('mse').reduce((a, t) => a + r.phase(t.phase, t.times), 0);
    const slow = new Roofline(gpu, { ...gpus.assumptions, flop_efficiency: gpus.assumptions.flop_efficiency / 2 });
    const slowTotal = run('fimaq').reduce((a, t) => a + slow.phase(t.phase, t.times), 0);
    const stepSeconds = r.phase(phases.recon_step_fimaq);
    const flagged = new Map<string, Projection['flagged'][number]>();
    for (const [name, phase] of Object.entries(phases)) {
      for (const d of [...phase.dispatches, ...(phase.once?.dispatches ?? [])]) {
        if (!r.flags(d)) continue;
        const key = `${name}|${d.kernel}|${d.workgroups}|${d.bytes}|${d.flops}`;
        const f = flagged.get(key);
        if (f) f.count++;
        else flagged.set(key, { phase: name, kernel: d.kernel, workgroups: d.workgroups, bytes: d.bytes, flops: d.flops, us: r.work(d) * 1e6, count: 1 });
      }
    }
    return {
      gpu: gpu.name,
      step_ms: stepSeconds * 1e3,
      step_ms_mse: r.phase(phases.recon_step_mse) * 1e3,
      step_dispatches: phases.recon_step_fimaq.dispatches.length,
      step_launch_share: ((phases.recon_step_fimaq.dispatches.length + phases.recon_step_fimaq.transfers.length) * r.launch) / stepSeconds,
      paper_hours: total / 3600,
      paper_hours_mse: mse / 3600,
      paper_hours_half_flop_efficiency: slowTotal / 3600,
      paper_breakdown_hours: parts,
      top_kernels: [...byKernel].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([kernel, s]) => ({ kernel, hours: s / 3600, share: s / total })),
      flagged: [...flagged.values()].sort((a, b) => b.us * b.count - a.us * a.count),
    };
  });

  return {
    model,
    command: `npm run bench:census -- --model ${model}`,
    commit: sourceCommit(),
    date: new Date().toISOString(),
    adapter,
    note:
      'Recorded in the runtime\'s census record-only mode: dispatches are observed, never compiled or run, so the census is the same on any adapter (this one only recorded it). ' +
      `Random-weight ${model}-shaped model at W${CENSUS_BITS}A${CENSUS_BITS}; dispatch lists do not depend on the values.`,
    settings: { preset: 'paper', ...settings, fisher, forward_batch: FORWARD_BATCH, bits: CENSUS_BITS },
    assumptions: {
      ...gpus.assumptions,
      dispatch_time: 'launch_us + max(flops / (fp32 peak * flop_efficiency), bytes / (bandwidth * bandwidth_efficiency)) / min(1, workgroups / compute_units); clears and copies: launch_us + bytes / (bandwidth * bandwidth_efficiency)',
      cost: 'FLOPs and bytes per dispatch from each kernel descriptor\'s cost (src/ops/*.ts), else every bound buffer read or written once and 8 operations per element of the largest; operands are read once (perfect on-chip reuse)',
      flagged: 'fewer workgroups than the GPU has compute units, and a roofline time (without launch) of at least one launch overhead',
      paper_run: `calibration (patch embedding, ${depth} blocks, head) + ${settings.iters} steps per unit + ${fisher.k} Fisher snapshots per unit but the head (each over ${settings.calibSize} images) + data preparation approximated by forwards of the cache`,
    },
    phases: Object.fromEntries(Object.entries(phases).map(([k, p]) => [k, { ...p, totals: phaseTotals(p) }])),
    projections,
  };
}

/** Phases longer than this are kept in the record as per-kernel sums (a calibration unit: thousands of candidate dispatches). */
const RECORD_LIST_LIMIT = 500;

/**
 * The record as committed: long phases (the calibration search) as per-kernel sums instead of every
 * dispatch, which would make the file a megabyte; `--json` prints the full lists. The projections
 * are computed from the full lists before this.
 */
function compactForRecord(r: CensusRecord): unknown {
  const phases = Object.fromEntries(
    Object.entries(r.phases).map(([name, p]) => {
      if (p.dispatches.length <= RECORD_LIST_LIMIT) return [name, p];
      const byKernel = new Map<string, { kernel: string; dispatches: number; workgroups_min: number; workgroups_max: number; flops: number; bytes: number }>();
      for (const d of p.dispatches) {
        const k = byKernel.get(d.kernel) ?? { kernel: d.kernel, dispatches: 0, workgroups_min: Infinity, workgroups_max: 0, flops: 0, bytes: 0 };
        k.dispatches++;
        k.workgroups_min = Math.min(k.workgroups_min, d.workgroups);
        k.workgroups_max = Math.max(k.workgroups_max, d.workgroups);
        k.flops += d.flops;
        k.bytes += d.bytes;
        byKernel.set(d.kernel, k);
      }
      const { dispatches: _list, transfers, ...rest } = p;
      return [name, { ...rest, dispatches_by_kernel: [...byKernel.values()], transfers_count: transfers.length, transfers_bytes: transfers.reduce((a, t) => a + t.bytes, 0) }];
    }),
  );
  return { ...r, phases };
}

const fmtBytes = (b: number) => (b >= 1e9 ? `${(b / 1e9).toFixed(2)} GB` : b >= 1e6 ? `${(b / 1e6).toFixed(1)} MB` : `${(b / 1e3).toFixed(1)} kB`);
const fmtHours = (h: number) => (h >= 1 ? `${h.toFixed(2)} h` : `${(h * 60).toFixed(1)} min`);
const topKernels = (p: Projection) => p.top_kernels.map((k) => `${k.kernel} ${(100 * k.share).toFixed(0)}%`).join(', ');

function table(r: CensusRecord): string {
  const lines = [
    `| GPU | block step, FIMA-Q (MSE) | dispatches per step, launch share | paper preset FIMA-Q (MSE) | FIMA-Q at half the FLOP efficiency | 5 most expensive kernels (share of the FIMA-Q run) |`,
    '|---|---|---|---|---|---|',
  ];
  for (const p of r.projections) {
    lines.push(
      `| ${p.gpu} | ${p.step_ms.toFixed(2)} ms (${p.step_ms_mse.toFixed(2)} ms) | ${p.step_dispatches}, ${(100 * p.step_launch_share).toFixed(0)}% | ${fmtHours(p.paper_hours)} (${fmtHours(p.paper_hours_mse)}) | ${fmtHours(p.paper_hours_half_flop_efficiency)} | ${topKernels(p)} |`,
    );
  }
  return lines.join('\n');
}

function flaggedText(p: Projection, limit: number): string {
  const rows = p.flagged.slice(0, limit).map((f) => `  ${f.phase}: ${f.kernel}, ${f.workgroups} workgroups, ${fmtBytes(f.bytes)}, ${(f.flops / 1e9).toFixed(2)} GFLOP, ${f.us.toFixed(1)} us${f.count > 1 ? ` (x${f.count})` : ''}`);
  const more = p.flagged.length > limit ? [`  ... ${p.flagged.length - limit} more`] : [];
  return [`${p.gpu}: ${p.flagged.length} kinds of dispatch leave compute units idle`, ...rows, ...more].join('\n');
}

function printHuman(r: CensusRecord): void {
  console.log(`dispatch census of a ${r.model}-shaped model, paper preset (${r.commit}, recorded by ${(r.adapter as { description?: string }).description ?? 'an adapter'})\n`);
  console.log('| phase | dispatches | GFLOP | bytes |');
  console.log('|---|---|---|---|');
  for (const [name, p] of Object.entries(r.phases)) console.log(`| ${name} | ${p.totals.dispatches} | ${(p.totals.flops / 1e9).toFixed(1)} | ${fmtBytes(p.totals.bytes)} |`);
  console.log(`\n${table(r)}\n`);
  for (const p of r.projections) {
    const parts = Object.entries(p.paper_breakdown_hours).map(([k, h]) => `${k} ${fmtHours(h)}`).join(', ');
    console.log(`${p.gpu}: ${parts}`);
  }
  console.log('');
  for (const p of r.projections) console.log(`${flaggedText(p, 12)}\n`);
}

/** The README's tables, from the committed records. */
function markdown(): void {
  const files = readdirSync(RESULTS).filter((f) => /^census-.+\.json$/.test(f)).sort();
  for (const f of files) {
    const r = JSON.parse(readFileSync(join(RESULTS, f), 'utf8')) as CensusRecord;
    console.log(`**${r.model}** (\`${r.command}\`, commit ${r.commit}):\n\n${table(r)}\n`);
  }
}

if (args.includes('--markdown')) {
  markdown();
} else {
  const model = (arg('model') ?? 'deit_small') as CensusModel;
  if (!CENSUS_MODELS.includes(model)) throw new Error(`--model must be one of ${CENSUS_MODELS.join(', ')}`);
  configureVulkanEnv('auto');
  const r = await census(model);
  if (args.includes('--record')) {
    mkdirSync(RESULTS, { recursive: true });
    const file = join(RESULTS, `census-${model}.json`);
    // One dispatch or transfer per line: readable diffs at a third of the indented size.
    const text = JSON.stringify(compactForRecord(r), null, 1).replace(/\{\n\s*"(kernel|kind)"[^{}]*?\n\s*\}/g, (m) => m.replace(/\n\s*/g, ' '));
    writeFileSync(file, `${text}\n`);
    progress(`wrote ${file}`);
  }
  if (args.includes('--json')) process.stdout.write(`${JSON.stringify(r)}\n`);
  else printHuman(r);
}
