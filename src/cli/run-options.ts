/**
 * The options that set a quantize or ablate run: the reconstruction preset and each setting, the
 * Fisher settings, and which of them a method uses (any other is refused).
 */
import { DEFAULT_FISHER, type FisherSettings } from '../recon/losses.js';
import { PRESETS, type PresetName, type ReconSettings } from '../recon/settings.js';
import { zeroPointCount } from '../quant/candidates.js';
import { FISHER_METHODS, type Method, RECON_METHODS } from '../pipeline/quantize.js';
import { FimaqError } from '../util/errors.js';
import { type OptionName, type Values, numberOption, positiveInt } from './options.js';

/** The search's candidate tables cross scales with zero-points, so their size must be a multiple of the zero-point count. */
export function checkSearchCandidates(settings: ReconSettings, bits: number[]): void {
  const step = Math.max(...bits.map(zeroPointCount));
  if (settings.searchCandidates % step !== 0) {
    throw new FimaqError(`--search-candidates must be a multiple of ${step} at ${Math.max(...bits)} bits (scales x ${step} zero-points), got ${settings.searchCandidates}`);
  }
}

/** Reconstruction settings: the preset, then every option given on the command line. */
export function reconSettings(values: Values): ReconSettings {
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
export function fisherSettings(values: Values): FisherSettings {
  const disMode = values['dis-mode'] ?? DEFAULT_FISHER.disMode;
  if (disMode !== 'q' && disMode !== 'qf') throw new FimaqError(`--dis-mode must be q or qf, got '${disMode}'`);
  const nonNegative = (n: number) => n >= 0;
  const d = DEFAULT_FISHER;
  return {
    k: positiveInt(values.k, 'k', d.k),
    p1: numberOption(values.p1, 'p1', d.p1, nonNegative, 'a non-negative number'),
    p2: numberOption(values.p2, 'p2', d.p2, nonNegative, 'a non-negative number'),
    temperature: numberOption(values.temperature, 'temperature', d.temperature, (n) => n > 0, 'a positive number'),
    disMode,
    damping: numberOption(values.damping, 'damping', d.damping, nonNegative, 'a non-negative number'),
    ...(values['eig-once'] && { eigOnce: true }),
    ...(values['eig-power'] !== undefined && { eigPower: numberOption(values['eig-power'], 'eig-power', 1, (n) => n > 0 && n <= 1, 'a number in (0, 1]') }),
  };
}

export const RECON_OPTIONS: readonly OptionName[] = ['preset', 'iters', 'batch', 'search-size', 'search-candidates', 'search-rounds', 'lr-round', 'lr-scale', 'drop-prob', 'round-weight', 'report-every'];
export const FISHER_OPTIONS: readonly OptionName[] = ['k', 'p1', 'p2', 'dis-mode', 'damping', 'temperature'];
/** The Fisher options of eig-fim: its rank and refresh schedule, the snapshots' temperature. */
export const EIG_FIM_OPTIONS: readonly OptionName[] = ['k', 'dis-mode', 'temperature', 'eig-once', 'eig-power'];

/** Why an option is refused for a quantize run whose method does not use it. */
export function unusedBy(method: Method): (o: OptionName) => string {
  const methods = `--method ${method}`;
  return (o) => {
    if (RECON_OPTIONS.includes(o) || o === 'resume' || o === 'fresh') return `is a reconstruction option (methods ${RECON_METHODS.join(', ')}); ${methods} does not use it`;
    if (o === 'temperature') return `applies to methods ${[...FISHER_METHODS, 'eig-fim', 'brecq-fim'].join(', ')}; ${methods} does not use it`;
    if (o === 'eig-once' || o === 'eig-power') return `applies to --method eig-fim; ${methods} does not use it`;
    if (EIG_FIM_OPTIONS.includes(o)) return `is a Fisher option (methods ${[...FISHER_METHODS, 'eig-fim'].join(', ')}); ${methods} does not use it`;
    if (FISHER_OPTIONS.includes(o)) return `is a Fisher option (methods ${FISHER_METHODS.join(', ')}); ${methods} does not use it`;
    return 'does not apply to fimaq quantize (see fimaq --help)';
  };
}

/** The options a quantize run with `method` uses. */
export function quantizeOptions(method: Method): OptionName[] {
  const base: OptionName[] = ['model', 'calib', 'out', 'method', 'wbits', 'abits', 'calib-size', 'seed', 'calib-indices', 'eval', 'limit', 'gpu-memory'];
  if (!RECON_METHODS.includes(method)) return base;
  const fisher: OptionName[] = FISHER_METHODS.includes(method) ? [...FISHER_OPTIONS] : method === 'eig-fim' ? [...EIG_FIM_OPTIONS] : method === 'brecq-fim' ? ['temperature'] : [];
  return [...base, ...RECON_OPTIONS, 'resume', 'fresh', ...fisher];
}

