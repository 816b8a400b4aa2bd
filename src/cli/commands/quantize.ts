/** `fimaq quantize`: the pipeline's quantize flow on files, with a lock, checkpoints and a summary. */
import { resolve } from 'node:path';
import { openDataset } from '../../data/open.js';
import { loadCheckpoint } from '../../io/checkpoint-node.js';
import { FolderStore } from '../../io/run-store-node.js';
import { type Comparison, compareTop1 } from '../../pipeline/compare.js';
import { memoryPeakPhase } from '../../pipeline/model-info.js';
import { type CheckpointPolicy, METHODS, type Method, type PipelineProgress, calibrationImages, isReconMethod, quantizeModel } from '../../pipeline/quantize.js';
import { checkBits } from '../../util/pack.js';
import type { GpuContext } from '../../runtime/context.js';
import { DeviceLostError, FimaqError } from '../../util/errors.js';
import { TOOL_VERSION, adapterJson, calibSpecOf, describeAdapter, indexList, labelled, print, resolveModelPath, unlabelled, withContext } from '../common.js';
import { type OptionName, type Values, checkApplicable, optionalPositiveInt, positiveInt, seedOption } from '../options.js';
import { dataInput, fileInput, guardOutputs, modelInputs } from '../output-guard.js';
import { Progress } from '../progress.js';
import { commandReproduce } from './reproduce.js';
import { checkSearchCandidates, fisherSettings, quantizeOptions, reconSettings, unusedBy } from '../run-options.js';

/** Progress lines on stderr, one bar per phase. */
function progressPrinter(method: Method, wbits: number, abits: number): (p: PipelineProgress) => void {
  const bars = new Map<string, Progress>();
  const label = (p: PipelineProgress) => (p.phase === 'calibrate' ? `calib W${wbits}A${abits}` : p.phase === 'reconstruct' ? `${method} W${wbits}A${abits}` : 'eval');
  return (p) => {
    const name = label(p);
    let bar = bars.get(name);
    if (!bar) bars.set(name, (bar = new Progress(name)));
    const r = p.recon;
    bar.update(p.done, p.total, r ? `${p.stage} ${r.iteration}/${r.iters} loss ${r.loss.toPrecision(4)}` : p.stage);
  };
}

/**
 * FIMAQ_LOSE_DEVICE_AFTER_UNITS=n destroys the GPU device once n units are reconstructed: the way
 * the tests lose a device in the middle of a CLI run, as a driver reset would.
 */
function faultInjection(ctx: GpuContext): (() => void) | undefined {
  const after = Number(process.env.FIMAQ_LOSE_DEVICE_AFTER_UNITS);
  if (!(after > 0)) return undefined;
  let units = 0;
  return () => {
    if (++units === after) ctx.device.destroy();
  };
}

export async function commandQuantize(values: Values, given: Set<OptionName>): Promise<void> {
  if (values.reproduce !== undefined) return commandReproduce(values, given);
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
  const recon = isReconMethod(method);
  const settings = recon ? reconSettings(values) : undefined;
  if (settings) checkSearchCandidates(settings, [wbits, abits]);
  const fisher = recon && method !== 'mse' ? fisherSettings(values) : undefined;
  const calibSpec = calibSpecOf(values, 'the calibration images, e.g. an image folder');
  const limit = optionalPositiveInt(values.limit, 'limit');
  const gpuMemory = optionalPositiveInt(values['gpu-memory'], 'gpu-memory');
  const out = resolve(values.out);
  const store = new FolderStore(out);
  const lock = await guardOutputs(
    `fimaq quantize --method ${method} --out ${values.out}`,
    [{ path: values.out, option: '--out', extension: '.safetensors', what: 'a quantized-model file' }],
    [...modelInputs(modelPath), ...dataInput(calibSpec, '--calib'), ...dataInput(values.eval, '--eval'), ...fileInput(values['calib-indices'], '--calib-indices')],
    recon ? [{ path: store.where, what: 'the checkpoint folder of --out' }] : [],
  );
  try {
    const ckpt = await loadCheckpoint(modelPath);
    const data = await openDataset(calibSpec, ckpt.config.preprocess, unlabelled(ckpt.config));
    const size = settings?.calibSize ?? positiveInt(values['calib-size'], 'calib-size', 128);
    const calibration = await calibrationImages(data, size, seed, await indexList(values['calib-indices'], data.count));
    const evalData = values.eval ? await openDataset(values.eval, ckpt.config.preprocess, labelled(ckpt.config)) : null;
    const checkpoints: CheckpointPolicy = values.resume ? 'resume' : values.fresh ? 'fresh' : 'refuse';
    const onProgress = progressPrinter(method, wbits, abits);
    await withContext(values, async (ctx) => {
      const r = await quantizeModel(ctx, { checkpoint: ckpt, calibration, method, wbits, abits, seed, settings, preset: values.preset ?? 'paper', fisher, toolVersion: TOOL_VERSION }, {
        store,
        checkpoints,
        onProgress,
        onNotice: (m) => process.stderr.write(`fimaq: ${m}\n`),
        onUnitDone: faultInjection(ctx),
        memoryBudgetBytes: gpuMemory === undefined ? undefined : gpuMemory * 2 ** 20,
        onMemoryEstimate: (m) => process.stderr.write(`GPU memory: estimated peak ${(m.peak_bytes / 2 ** 20).toFixed(1)} MiB (${memoryPeakPhase(m)})\n`),
      }).catch((e: unknown) => {
        if (e instanceof DeviceLostError && e.resumable) throw new DeviceLostError(`${e.message}: run the same command with --resume`, true);
        throw e;
      });
      const evaluation: Comparison | null = evalData ? await compareTop1(ctx, { float: ckpt, calibrated: recon ? r.calibrated : null, quantized: r.quantized }, evalData, { limit, onProgress }) : null;
      const seconds = r.calibSeconds + r.reconSeconds;
      const evalText = evaluation
        ? `\ntop-1 on ${evaluation.count} images of ${evaluation.data}:\n${[['float', evaluation.float], [`calib W${wbits}A${abits}`, evaluation.calib], [`${method} W${wbits}A${abits}`, evaluation.quantized]]
            .filter(([, v]) => v !== null)
            .map(([name, v]) => `  ${String(name).padEnd(16)} ${(100 * (v as number)).toFixed(2)} %`)
            .join('\n')}`
        : '';
      const common = {
        command: 'quantize', method, wbits, abits, seed, calib_size: calibration.count, calib_data: data.description, seconds, output: out, eval: evaluation, adapter: adapterJson(ctx.adapter),
        memory_estimate: { peak_bytes: r.memory.peak_bytes, peak_at: memoryPeakPhase(r.memory) },
      };
      if (!settings) {
        print(values, common, `${method} W${wbits}A${abits}: calibrated on ${calibration.count} images of ${data.description} in ${seconds.toFixed(1)} s\nwrote ${out}${evalText}\nadapter: ${describeAdapter(ctx.adapter)}`);
        return;
      }
      const units = r.reports.map((u) => ({
        unit: u.unit, seconds: u.seconds, first_loss: u.losses[0]?.[1], final_loss: u.losses[u.losses.length - 1]?.[1],
        hard_error_before: u.hardError.before, hard_error_after: u.hardError.after,
        ...(u.snapshots && { snapshots: u.snapshots.snapshots, snapshot_grad_min_cosine: u.snapshots.gradMinCosine, snapshot_error_min_cosine: u.snapshots.errorMinCosine }),
        ...(u.eigen && { eigen_refreshes: u.eigen.refreshes, eigen_captured_share: u.eigen.capturedShare, eigen_values: u.eigen.values }),
      }));
      const lines = units.map(
        (u) => `  ${u.unit.padEnd(12)} training loss ${u.first_loss?.toPrecision(4)} -> ${u.final_loss?.toPrecision(4)}, hard-quantized output error ${u.hard_error_before.toPrecision(4)} -> ${u.hard_error_after.toPrecision(4)}${u.snapshots ? `, ${u.snapshots} snapshots (cos >= ${u.snapshot_grad_min_cosine?.toFixed(4)} between mean |g|)` : ''}${u.eigen_refreshes ? `, ${u.eigen_refreshes} refreshes (top ${u.eigen_values?.length} eigenvalues: ${(100 * (u.eigen_captured_share ?? 0)).toFixed(1)} % of the Fisher trace)` : ''}  ${u.seconds.toFixed(1)} s`,
      );
      const json = {
        ...common, preset: values.preset ?? 'paper', settings, fisher: fisher ?? null, search_size: r.searchSize, resumed_at_unit: r.resumedAt,
        calib_seconds: r.calibSeconds, recon_seconds: r.reconSeconds, units,
      };
      print(values, json, `${method} W${wbits}A${abits}: ${settings.iters} iterations per unit on ${calibration.count} images in ${seconds.toFixed(1)} s\n${lines.join('\n')}\nwrote ${out}${evalText}\nadapter: ${describeAdapter(ctx.adapter)}`);
    });
  } finally {
    await lock.release();
  }
}
