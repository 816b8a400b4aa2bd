/**
 * Command-line options shared by every command: the option table, parsing (negative numbers
 * included), strict value checks, and the rule that an option a command or method does not use
 * is an error rather than silently ignored.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { FimaqError } from '../util/errors.js';

export const OPTIONS = {
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
  preset: { type: 'string' },
  iters: { type: 'string' },
  'search-size': { type: 'string' },
  'search-candidates': { type: 'string' },
  'search-rounds': { type: 'string' },
  'lr-round': { type: 'string' },
  'lr-scale': { type: 'string' },
  'drop-prob': { type: 'string' },
  'round-weight': { type: 'string' },
  'report-every': { type: 'string' },
  resume: { type: 'boolean', default: false },
  reproduce: { type: 'string' },
  fresh: { type: 'boolean', default: false },
  record: { type: 'string' },
  'gpu-memory': { type: 'string' },
  eval: { type: 'string' },
  engine: { type: 'string' },
  images: { type: 'string', multiple: true },
  top: { type: 'string' },
  methods: { type: 'string' },
  block: { type: 'string' },
  channels: { type: 'string' },
  rank: { type: 'string' },
  bits: { type: 'string' },
  seeds: { type: 'string' },
  k: { type: 'string' },
  p1: { type: 'string' },
  p2: { type: 'string' },
  temperature: { type: 'string' },
  'dis-mode': { type: 'string' },
  damping: { type: 'string' },
  'eig-once': { type: 'boolean', default: false },
  'eig-power': { type: 'string' },
  json: { type: 'boolean', default: false },
  adapter: { type: 'string', default: 'auto' },
  'bounds-checks': { type: 'boolean', default: false },
  'no-bounds-checks': { type: 'boolean', default: false },
  debug: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  version: { type: 'boolean', default: false },
} satisfies ParseArgsConfig['options'];

export type OptionName = keyof typeof OPTIONS;
export type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

export interface CommandLine {
  values: Values;
  positionals: string[];
  /** The options the user actually wrote (defaults excluded). */
  given: Set<OptionName>;
}

/**
 * parseArgs reads `--abits -1` as an option without a value followed by an unknown option '-1';
 * joining a number-looking value to its option (`--abits=-1`) lets the value check say what is
 * wrong with it.
 */
function joinNegativeNumbers(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = /^--([\w-]+)$/.exec(argv[i])?.[1];
    const next = argv[i + 1];
    const spec = name === undefined ? undefined : (OPTIONS as Record<string, { type: string }>)[name];
    if (spec?.type === 'string' && next !== undefined && /^-(\d|\.\d|inf|nan)/i.test(next)) {
      out.push(`--${name}=${next}`);
      i++;
    } else {
      out.push(argv[i]);
    }
  }
  return out;
}

/** Parses argv; an unknown option or a missing value throws parseArgs' own error. */
export function parseCommandLine(argv: string[]): CommandLine {
  const { values, positionals, tokens } = parseArgs({ args: joinNegativeNumbers(argv), options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
  const given = new Set<OptionName>();
  for (const t of tokens) if (t.kind === 'option') given.add(t.name as OptionName);
  return { values, positionals, given };
}

/** Options every command takes. */
export const COMMON_OPTIONS: readonly OptionName[] = ['json', 'adapter', 'bounds-checks', 'no-bounds-checks', 'debug', 'help', 'version'];

/**
 * Refuses every given option outside `allowed`, so that a setting the run would ignore (`--iters`
 * with `--method calib`, `--k` with `--method mse`) is not mistaken for one it used. `why` says,
 * for the first such option, what it applies to.
 */
export function checkApplicable(given: Set<OptionName>, allowed: Iterable<OptionName>, why: (option: OptionName) => string): void {
  const ok = new Set<OptionName>([...COMMON_OPTIONS, ...allowed]);
  const stray = [...given].filter((o) => !ok.has(o));
  if (stray.length > 0) throw new FimaqError(`--${stray[0]} ${why(stray[0])}`);
}

const DIGITS = /^\d+$/;

/** An integer option in [min, max]; written as plain decimal digits (no '', '1e3', '0x10' or ' 5'). */
export function integerOption(value: string | undefined, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const n = DIGITS.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) {
    const range = max === Number.MAX_SAFE_INTEGER ? (min === 1 ? 'a positive integer' : `an integer >= ${min}`) : `an integer from ${min} to ${max}`;
    throw new FimaqError(`--${name} must be ${range}, got '${value}'`);
  }
  return n;
}

export function positiveInt(value: string | undefined, name: string, fallback: number): number {
  return integerOption(value, name, fallback, 1);
}

/** Like positiveInt, but absent stays undefined (e.g. --limit: all images). */
export function optionalPositiveInt(value: string | undefined, name: string): number | undefined {
  return value === undefined ? undefined : positiveInt(value, name, 0);
}

/** Seeds feed a 32-bit counter-based generator: larger values would wrap silently. */
export const MAX_SEED = 2 ** 32 - 1;
export const DEFAULT_SEED = 3407;

export function seedOption(value: string | undefined, name = 'seed'): number {
  if (value === undefined) return DEFAULT_SEED;
  if (!DIGITS.test(value) || Number(value) > MAX_SEED) throw new FimaqError(`--${name} must be an integer from 0 to ${MAX_SEED}, got '${value}'`);
  return Number(value);
}

/** A decimal number satisfying `ok`. */
export function numberOption(value: string | undefined, name: string, fallback: number, ok: (n: number) => boolean, what: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !ok(n)) throw new FimaqError(`--${name} must be ${what}, got '${value}'`);
  return n;
}

/** A comma-separated option, each item checked. */
export function listOption<T>(value: string | undefined, name: string, fallback: T[], parse: (item: string) => T | undefined, what: string): T[] {
  if (value === undefined) return fallback;
  const items = value.split(',').map((v) => v.trim());
  return items.map((item) => {
    const v = parse(item);
    if (v === undefined) throw new FimaqError(`--${name}: '${item}' is not ${what}`);
    return v;
  });
}

/** Seeds of a list option (`--seeds 3407,1`), each checked like --seed. */
export function seedList(value: string | undefined, name: string): number[] {
  return listOption(value, name, [DEFAULT_SEED], (v) => (DIGITS.test(v) && Number(v) <= MAX_SEED ? Number(v) : undefined), `an integer from 0 to ${MAX_SEED}`);
}
