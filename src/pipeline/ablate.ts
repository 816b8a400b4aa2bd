/**
 * The method's ablation: for each seed and bit width (W = A) one calibration search, shared by
 * every method as the paper's ablation does; each method's model is evaluated (fake-quant) on
 * the same images, with its top-1 and its mean KL divergence from the float model's outputs.
 */
import type { Dataset } from '../data/dataset.js';
import { type EvalResult, evaluate, fidelityTo } from '../inference/evaluate.js';
import type { ModelCheckpoint } from '../model/checkpoint.js';
import { uploadFloatModel } from '../model/float-model.js';
import { calibrateModel } from '../quant/calibrate-model.js';
import { seededIndices } from '../quant/calibration-set.js';
import { FakeQuantModel } from '../quant/fake-quant-model.js';
import type { QuantizedModel } from '../quant/quantized-model.js';
import type { FisherSettings } from '../recon/losses.js';
import { reconstruct } from '../recon/reconstruct.js';
import type { ReconSettings } from '../recon/settings.js';
import type { GpuContext } from '../runtime/context.js';
import { type Method, isReconMethod } from './quantize.js';

export interface AblationRun {
  method: Method;
  bits: number;
  seed: number;
  top1: number;
  seconds: number;
  /** Mean KL(float || quantized) of the output distributions on the data, in nats (absent in older records). */
  kl_to_float?: number;
  /** Share of images whose top-1 class the quantized and the float model agree on. */
  float_agreement?: number;
  /** Where the run was made (absent in older records): when it ended, the source commit, the adapter. */
  date?: string;
  commit?: string;
  adapter?: string;
}

export interface AblationRequest {
  checkpoint: ModelCheckpoint;
  calibData: Dataset;
  evalData: Dataset;
  methods: Method[];
  bits: number[];
  seeds: number[];
  settings: ReconSettings;
  fisher: FisherSettings;
  limit?: number;
  toolVersion: string;
  /** Stamped on each new run with its end date: records are resumed across sessions and commits. */
  provenance?: { commit: string; adapter: string };
}

export interface AblationOptions {
  /** Runs finished earlier (a record): they are reported, not repeated. */
  recorded?: AblationRun[];
  /** After each new run, with every run so far (recorded ones included). */
  onRun?: (run: AblationRun, runs: AblationRun[]) => Promise<void>;
  onProgress?: (done: number, total: number, stage: string) => void;
  /** The float model's top-1 on the data, once it is evaluated (before the first new run is reported). */
  onFloatTop1?: (top1: number) => void;
  signal?: AbortSignal;
}

export async function runAblation(ctx: GpuContext, req: AblationRequest, opts: AblationOptions = {}): Promise<{ runs: AblationRun[]; floatTop1: number | null }> {
  const { checkpoint: ckpt, calibData, evalData, settings, fisher, limit } = req;
  const recorded = opts.recorded ?? [];
  const runs: AblationRun[] = [];
  const done = (method: Method, bits: number, seed: number) => recorded.find((r) => r.method === method && r.bits === bits && r.seed === seed);
  const total = req.seeds.length * req.bits.length * req.methods.length;
  const progress = (stage: string) => opts.onProgress?.(runs.length, total, stage);
  // The float model's outputs, the reference of every run's KL (computed once, when a run is due).
  let floatEval: EvalResult | null = null;
  const floatReference = async (): Promise<EvalResult> => {
    if (!floatEval) {
      const model = uploadFloatModel(ctx, ckpt);
      const result = await evaluate(model, evalData, { limit, keepLogits: true, signal: opts.signal, onProgress: () => progress('float model: evaluating') });
      model.release();
      opts.onFloatTop1?.(result.top1);
      floatEval = result;
    }
    return floatEval;
  };
  for (const seed of req.seeds) {
    const indices = seededIndices(calibData.count, settings.calibSize, seed);
    const batch = await calibData.batch(indices);
    const perImage = batch.pixels.length / indices.length;
    const searchSize = Math.min(settings.searchSize, indices.length);
    for (const bits of req.bits) {
      const pending = req.methods.filter((m) => !done(m, bits, seed));
      for (const m of req.methods.filter((m) => done(m, bits, seed))) runs.push(done(m, bits, seed) as AblationRun);
      if (pending.length === 0) continue;
      const started = performance.now();
      const cal = await calibrateModel(ctx, ckpt, batch.pixels.subarray(0, searchSize * perImage), searchSize, {
        method: 'calib', wbits: bits, abits: bits, eqN: settings.searchCandidates, rounds: settings.searchRounds, signal: opts.signal,
      });
      const calibSeconds = (performance.now() - started) / 1000;
      const info = { method: 'calib', wbits: bits, abits: bits, seed, calibSize: indices.length, calibData: calibData.description, toolVersion: req.toolVersion };
      const calibrated = { ...cal.quantized, configText: ckpt.configText, info } as QuantizedModel;
      for (const method of pending) {
        // A stage per unit and for the evaluation: a run takes minutes.
        const stage = `W${bits}A${bits} seed ${seed}: ${method}`;
        progress(stage);
        const t0 = performance.now();
        let q = calibrated;
        if (isReconMethod(method)) {
          const r = await reconstruct(ctx, { ...ckpt, weights: cal.reparameterized }, calibrated, batch.pixels, indices.length, {
            settings, seed, method, fisher, signal: opts.signal, onProgress: (p) => progress(`${stage}: ${p.unit}`),
          });
          q = r.quantized;
        }
        const seconds = (performance.now() - t0) / 1000 + calibSeconds;
        const model = FakeQuantModel.upload(ctx, q);
        const r = await evaluate(model, evalData, { limit, keepLogits: true, signal: opts.signal, onProgress: () => progress(`${stage}: evaluating`) });
        model.release();
        const fidelity = fidelityTo(await floatReference(), r, ckpt.config.numClasses);
        const run: AblationRun = {
          method, bits, seed, top1: r.top1, seconds, kl_to_float: fidelity.kl, float_agreement: fidelity.agreement,
          ...(req.provenance && { date: new Date().toISOString(), ...req.provenance }),
        };
        runs.push(run);
        await opts.onRun?.(run, [...recorded.filter((x) => !runs.includes(x)), ...runs]);
      }
    }
  }
  progress('done');
  return { runs, floatTop1: (floatEval as EvalResult | null)?.top1 ?? null };
}

/** The markdown table of an ablation: per method and bit width, top-1 and KL, mean over seeds then each seed's value. */
export function ablationTable(runs: AblationRun[], methods: Method[], bits: number[], seeds: number[]): string[] {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  // '—' where a record predates the field.
  const cell = (xs: (number | undefined)[], digits: number) => {
    if (xs.some((v) => v === undefined)) return '—';
    const ys = xs as number[];
    return seeds.length > 1 ? `${mean(ys).toFixed(digits)} (${ys.map((t) => t.toFixed(digits)).join(', ')})` : mean(ys).toFixed(digits);
  };
  const header = `| method | ${bits.map((b) => `W${b}A${b} top-1 (%) | W${b}A${b} KL to float (nats)`).join(' | ')} |`;
  const rule = `|---|${bits.map(() => '---|---').join('|')}|`;
  const rows = methods.map((m) => {
    const cells = bits.map((b) => {
      const of = runs.filter((r) => r.method === m && r.bits === b);
      return `${cell(of.map((r) => 100 * r.top1), 2)} | ${cell(of.map((r) => r.kl_to_float), 4)}`;
    });
    return `| ${m} | ${cells.join(' | ')} |`;
  });
  return [header, rule, ...rows];
}
