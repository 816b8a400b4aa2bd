/**
 * The layering of ARCHITECTURE.md, checked on the source: a folder of src/ imports only from
 * folders below it, and nothing the browser entry reaches imports a Node API. No GPU needed.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/runtime/node-gpu.js';

const SRC = join(PACKAGE_ROOT, 'src');

/** Lowest first. A folder may import from folders of a lower level, and from itself. */
export const LAYERS: Record<string, number> = {
  util: 0,
  runtime: 1,
  data: 1,
  ops: 2,
  model: 3,
  quant: 4,
  io: 5,
  recon: 6,
  inference: 7,
  pipeline: 8,
  cli: 9,
  browser: 9,
  node: 9,
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Every module specifier a file imports or re-exports, type-only imports included. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms), ...text.matchAll(/import\(\s*'([^']+)'\s*\)/g)].map((m) => m[1]);
}

const folderOf = (root: string, file: string) => relative(root, file).split(/[\\/]/)[0];
const resolveImport = (file: string, spec: string) => normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts');

/** `file -> specifier` for every import of a file under `root` into a folder of its level or above. */
function upwardImports(root: string): string[] {
  const upward: string[] = [];
  for (const file of sourceFiles(root)) {
    const from = folderOf(root, file);
    for (const spec of importsOf(file)) {
      if (!spec.startsWith('.')) continue;
      const to = folderOf(root, resolveImport(file, spec));
      if (to !== from && !(LAYERS[to] < LAYERS[from])) upward.push(`${relative(root, file)} -> ${spec}`);
    }
  }
  return upward;
}

describe('source layering', () => {
  const files = sourceFiles(SRC);

  it('every folder of src/ has a level', () => {
    const folders = new Set(files.map((f) => folderOf(SRC, f)));
    expect([...folders].filter((f) => !(f in LAYERS))).toEqual([]);
  });

  it('no import runs upwards', () => {
    expect(upwardImports(SRC)).toEqual([]);
  });

  it('the check reports upward and same-level imports, type-only ones too', () => {
    // As model/vit.ts once imported the Classifier type from inference, and quant and io each other.
    const root = mkdtempSync(join(tmpdir(), 'fimaq-layers-'));
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    };
    write('model/vit.ts', "import type { Classifier } from '../inference/evaluate.js';\nimport { x } from './config.js';\n");
    write('inference/evaluate.ts', "import { y } from '../model/vit.js';\n");
    write('data/open.ts', "import { z } from '../runtime/context.js';\n");
    expect(upwardImports(root).sort()).toEqual(['data/open.ts -> ../runtime/context.js', 'model/vit.ts -> ../inference/evaluate.js']);
  });

  it('nothing the browser entry reaches imports Node', () => {
    const seen = new Set<string>();
    const nodeImports: string[] = [];
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const spec of importsOf(file)) {
        if (spec.startsWith('.')) visit(resolveImport(file, spec));
        else if (spec.startsWith('node:') || ['pngjs', 'webgpu'].includes(spec)) nodeImports.push(`${relative(SRC, file)} -> ${spec}`);
      }
    };
    for (const entry of sourceFiles(join(SRC, 'browser'))) visit(entry);
    expect(seen.size).toBeGreaterThan(10);
    expect(nodeImports).toEqual([]);
  });
});
