/**
 * The `fimaq` command line. Every command prints a human summary, or exactly one JSON object on
 * stdout with --json; progress goes to stderr; user errors are one line on stderr with exit code
 * 1, bugs one line with exit code 70 (the stack with --debug). Each command is one module under
 * commands/; they call the library (src/pipeline and below) and add files, options and printing.
 */
import { FimaqError } from '../util/errors.js';
import { commandAblate } from './commands/ablate.js';
import { commandAdapter } from './commands/adapter.js';
import { commandEval } from './commands/eval.js';
import { commandFim } from './commands/fim.js';
import { commandInfer } from './commands/infer.js';
import { commandInfo } from './commands/info.js';
import { commandQuantize } from './commands/quantize.js';
import { TOOL_VERSION } from './common.js';
import { HELP } from './help.js';
import { type OptionName, type Values, parseCommandLine } from './options.js';

/** `argv` is the command line as given (a record names the command that made it). */
type Command = (values: Values, given: Set<OptionName>, extra: string[], argv: string[]) => Promise<void>;

const COMMANDS: Record<string, Command> = {
  eval: commandEval,
  infer: commandInfer,
  quantize: commandQuantize,
  ablate: commandAblate,
  fim: commandFim,
  info: commandInfo,
  adapter: commandAdapter,
};

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ');

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandLine(argv);
  } catch (e) {
    process.stderr.write(`fimaq: ${oneLine((e as Error).message)} (see fimaq --help)\n`);
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
    await run(values, given, positionals.slice(1), argv);
    return 0;
  } catch (e) {
    if (e instanceof FimaqError) {
      process.stderr.write(`fimaq: ${e.message}\n`);
      return 1;
    }
    // A bug, not the user's input: one line, and the stack only when asked for.
    if (values.debug) process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    else process.stderr.write(`fimaq: internal error: ${oneLine(String((e as Error).message ?? e))} (rerun with --debug for the stack trace)\n`);
    return 70;
  }
}
