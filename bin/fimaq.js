#!/usr/bin/env node
// Launcher: runs the compiled CLI (npm ci builds it through the `prepare` script).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write(`fimaq: ${entry} is missing; run 'npm run build' in ${root}\n`);
  process.exit(1);
}
process.env.XDG_RUNTIME_DIR ??= '/tmp';
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
