/**
 * Checks, before any work starts, that a command's outputs can be written and can never replace
 * or delete one of its inputs (Node only). Paths are compared after resolving symbolic links, and
 * existing files also by inode, so a link or a hard link to the input is caught too.
 */
import { accessSync, constants, existsSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep, isAbsolute } from 'node:path';
import { FimaqError } from '../util/errors.js';

export interface OutputSpec {
  /** As the user wrote it. */
  path: string;
  /** The option that names it, for messages (e.g. '--out'). */
  option: string;
  /** Required file name ending, matching what is written (e.g. '.safetensors'). */
  extension: string;
  /** What is written, for messages (e.g. 'a quantized-model file'). */
  what: string;
}

export interface InputSpec {
  path: string;
  /** The option that names it, for messages (e.g. '--model'). */
  option: string;
  /**
   * 'file': only this file is read. 'tree': the folder and everything in it is read (a data set),
   * so no output may be written inside it.
   */
  kind: 'file' | 'tree';
}

/** Where a path would be once written: symbolic links in it resolved as far as it exists. */
export function realTarget(path: string): string {
  const full = resolve(path);
  if (existsSync(full)) return realpathSync(full);
  const parent = dirname(full);
  return parent === full ? full : join(realTarget(parent), basename(full));
}

function isInside(child: string, folder: string): boolean {
  const rel = relative(folder, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && rel.split(sep)[0] !== '..');
}

function sameFile(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/**
 * Throws a FimaqError when an output has the wrong extension, cannot be written (its folder is
 * missing or read-only, or it is a folder), is one of the inputs, lies inside an input data
 * folder, or when one of `removable` (folders the command may delete, such as `<out>.partial`)
 * is or holds an input. Returns the outputs' absolute paths.
 */
export function checkOutputs(outputs: OutputSpec[], inputs: InputSpec[], removable: { path: string; what: string }[] = []): string[] {
  const present = inputs.filter((i) => existsSync(i.path)).map((i) => ({ ...i, real: realpathSync(resolve(i.path)) }));
  const seen = new Map<string, OutputSpec>();
  for (const o of outputs) {
    if (!o.path.toLowerCase().endsWith(o.extension)) {
      throw new FimaqError(`${o.option} ${o.path}: must end in ${o.extension} (the command writes ${o.what})`);
    }
    const target = realTarget(o.path);
    if (existsSync(target) && statSync(target).isDirectory()) throw new FimaqError(`${o.option} ${o.path}: is a folder; give a file name ending in ${o.extension}`);
    const folder = dirname(target);
    if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new FimaqError(`${o.option} ${o.path}: folder ${folder} does not exist`);
    try {
      accessSync(folder, constants.W_OK);
    } catch {
      throw new FimaqError(`${o.option} ${o.path}: folder ${folder} is not writable`);
    }
    for (const i of present) {
      if (i.kind === 'file' ? sameFile(target, i.real) : isInside(target, i.real)) {
        const how = i.kind === 'file' ? `is the ${i.option} input ${i.path}` : `lies inside ${i.path}, the ${i.option} data the command reads`;
        throw new FimaqError(`${o.option} ${o.path}: ${how}; writing it would destroy or change the input. Choose another ${o.option}`);
      }
    }
    const twin = seen.get(target);
    if (twin) throw new FimaqError(`${o.option} ${o.path}: is also the ${twin.option} output`);
    seen.set(target, o);
  }
  for (const r of removable) {
    const target = realTarget(r.path);
    for (const i of present) {
      if (isInside(i.real, target)) {
        throw new FimaqError(`${r.path} (${r.what}) would hold the ${i.option} input ${i.path}, and the command deletes that folder when it finishes; choose another --out`);
      }
    }
  }
  return outputs.map((o) => resolve(o.path));
}
