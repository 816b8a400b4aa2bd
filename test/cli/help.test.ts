/** `fimaq --help` tells the truth: every option it names exists, and every option is named. */
import { describe, expect, it } from 'vitest';
import { HELP } from '../../src/cli/help.js';
import { OPTIONS } from '../../src/cli/options.js';
import { runCli } from '../helpers/cli.js';

describe('fimaq --help', () => {
  const named = new Set([...HELP.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1]));

  it('names every option the parser takes', () => {
    expect(Object.keys(OPTIONS).filter((o) => !named.has(o))).toEqual([]);
  });

  it('names no option the parser refuses', () => {
    expect([...named].filter((o) => !(o in OPTIONS))).toEqual([]);
  });

  it('prints the text with exit code 0, and without a command exits 2', async () => {
    const r = await runCli(['--help']);
    expect(r).toMatchObject({ code: 0, stdout: HELP, stderr: '' });
    expect((await runCli([])).code).toBe(2);
  });
});
