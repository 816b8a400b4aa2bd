/** `fimaq ablate`: the pipeline's ablation with a resumable JSON record and a markdown table. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { openDataset } from '../../data/open.js';
import { writeFileAtomic } from '../../io/atomic-write.js';
import { loadCheckpoint } from '../../io/checkpoint-node.js';
import { sourceCommit } from '../../io/source-commit.js';
import { type AblationRun, ablationTable, runAblation } from '../../pipeline/ablate.js';
import { METHODS, type Method } from '../../pipeline/quantize.js';
import { FimaqError } from '../../util/errors.js';
import { TOOL_VERSION, adapterJson, calibSpecOf, describeAdapter, labelled, print, resolveModelPath, unlabelled, withContext } from '../common.js';
import { type OptionName, type Values, checkApplicable, listOption, optionalPositiveInt, seedList } from '../options.js';
import { dataInput, guardOutputs, modelInputs } from '../output-guard.js';
import { Progress } from '../progress.js';
import { FISHER_OPTIONS, RECON_OPTIONS, checkSearchCandidates, fisherSettings, reconSettings } from '../run-options.js';

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

export async function commandAblate(values: Values, given: Set<OptionName>, _extra: string[], argv: string[]): Promise<void> {
  const methods = listOption(values.methods, 'methods', ['calib', 'mse', 'brecq-fim', 'diag-fim', 'lr-fim', 'fimaq'] as Method[], (m) => (METHODS.includes(m as Method) && m !== 'rtn' ? (m as Method) : undefined), `one of ${METHODS.filter((m) => m !== 'rtn').join(', ')}`);
  // Reconstruction and Fisher options are taken whatever --methods holds: they belong to the
  // ablation's record, which later runs of other methods must share.
  checkApplicable(given, ['model', 'calib', 'data', 'methods', 'bits', 'seeds', 'limit', 'record', 'calib-size', ...RECON_OPTIONS, ...FISHER_OPTIONS, 'eig-once', 'eig-power'], () => 'does not apply to fimaq ablate (see fimaq --help)');
  const modelPath = resolveModelPath(values.model);
  if (!values.data) throw new FimaqError('--data is required (the evaluation images, for example fashion-mnist:test)');
  const bits = listOption(values.bits, 'bits', [4, 3], (b) => (/^[2-8]$/.test(b) ? Number(b) : undefined), 'a bit width from 2 to 8');
  const seeds = seedList(values.seeds, 'seeds');
  const settings = reconSettings(values);
  checkSearchCandidates(settings, bits);
  const fisher = fisherSettings(values);
  const limit = optionalPositiveInt(values.limit, 'limit');
  const calibSpec = calibSpecOf(values, 'the calibration images, e.g. an image folder');
  const recordPath = values.record;
  const lock = recordPath
    ? await guardOutputs(
        `fimaq ablate --record ${recordPath}`,
        [{ path: recordPath, option: '--record', extension: '.json', what: 'a JSON record of the runs' }],
        [...modelInputs(modelPath), ...dataInput(calibSpec, '--calib'), ...dataInput(values.data, '--data')],
      )
    : null;
  try {
    const ckpt = await loadCheckpoint(modelPath);
    const calibData = await openDataset(calibSpec, ckpt.config.preprocess, unlabelled(ckpt.config));
    const evalData = await openDataset(values.data, ckpt.config.preprocess, labelled(ckpt.config));
    // Taken now: the source this process loaded, whatever is edited while its runs go on.
    const commit = sourceCommit();
    // The latest command that added runs (a record may grow over several, e.g. with more --methods).
    const commandLine = ['fimaq', ...argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`))].join(' ');
    const setup = { model: modelPath, calib_data: calibData.description, data: evalData.description, limit: limit ?? null, settings, fisher };
    const record = recordPath ? await readAblationRecord(recordPath, setup) : { runs: [], floatTop1: null };
    await withContext(values, async (ctx) => {
      const progress = new Progress('ablate');
      let floatTop1 = record.floatTop1;
      const provenance = { commit, adapter: describeAdapter(ctx.adapter) };
      const result = await runAblation(ctx, { checkpoint: ckpt, calibData, evalData, methods, bits, seeds, settings, fisher, limit, toolVersion: TOOL_VERSION, provenance }, {
        recorded: record.runs,
        onProgress: (done, total, stage) => progress.update(done, total, stage),
        onRun: async (_run, runs) => {
          if (recordPath) await writeFileAtomic(recordPath, new TextEncoder().encode(`${JSON.stringify({ command: commandLine, ...setup, float_top1: floatTop1, runs }, null, 1)}\n`));
        },
        onFloatTop1: (top1) => {
          floatTop1 = top1;
        },
      });
      const floatLine = floatTop1 === null ? [] : [`float model: top-1 ${(100 * floatTop1).toFixed(2)} %`];
      const json = { command: 'ablate', ...setup, float_top1: floatTop1, seeds, runs: result.runs, adapter: adapterJson(ctx.adapter) };
      print(values, json, [...ablationTable(result.runs, methods, bits, seeds), '', ...floatLine, `seeds ${seeds.join(', ')}; ${settings.iters} iterations per unit; adapter: ${provenance.adapter}`].join('\n'));
    });
  } finally {
    await lock?.release();
  }
}
