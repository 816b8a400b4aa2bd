/** Runs the CLI from source in a child process (see test/cli/adapter.test.ts). */
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
