/**
 * Maps the class folders of an image folder (`<dir>/<class>/<image>`) to the model's class
 * indices. torchvision's ImageFolder numbers folders by sorted position, which is only right when
 * every class has a folder and the folders sort in the model's order; here a folder is matched by
 * what its name says instead. Pure (no Node APIs): the browser uses it too.
 */
import { FimaqError } from '../util/errors.js';

/** What a dataset's labels are for, given the model that will consume them. */
export interface LabelOptions {
  numClasses: number;
  /** The model's class names (timm's label_names), indexed by class. */
  labelNames?: string[];
  /** 'required': labels are checked against the model (evaluation); 'ignore': labels are unused (calibration), all -1. */
  labels: 'required' | 'ignore';
}

/** Lower case, with runs of spaces, underscores, hyphens and slashes as one space. */
function normalise(name: string): string {
  return name.toLowerCase().replace(/[\s_\-/]+/g, ' ').trim();
}

const INTEGER = /^\d+$/;

/**
 * The class index of each folder in `folders`, in the same order. Folders named by integers (all
 * of them) are class indices; otherwise each folder must name one of `labelNames`: exactly, else
 * normalised against the whole name, else against one of its '/'- or ','-separated alternatives
 * ("T-shirt" -> "T-shirt/top", "tench" -> "tench, Tinca tinca").
 */
export function classFolderLabels(dir: string, folders: string[], numClasses: number, labelNames?: string[]): number[] {
  const range = `0..${numClasses - 1}`;
  if (folders.length > numClasses) {
    throw new FimaqError(`${dir}: has ${folders.length} class folders but the model has ${numClasses} classes`);
  }
  let labels: number[];
  if (folders.every((f) => INTEGER.test(f))) {
    labels = folders.map((f) => {
      const index = Number(f);
      if (index >= numClasses) throw new FimaqError(`${dir}: class folder '${f}' is not a class index of the model (${range})`);
      return index;
    });
  } else {
    const tiers = labelNames ? matchTiers(labelNames) : [];
    labels = folders.map((f) => {
      for (const tier of tiers) {
        const hits = tier(f);
        if (hits.length === 1) return hits[0];
        if (hits.length > 1) {
          const names = hits.map((c) => `${c} '${(labelNames as string[])[c]}'`).join(', ');
          throw new FimaqError(`${dir}: class folder '${f}' matches several of the model's classes (${names}); rename it to one label name exactly`);
        }
      }
      // Integer folders count as indices only when all folders are integers, so that "0" never means two things.
      const hint = INTEGER.test(f) ? ' (folders are read as class indices only when all of them are integers)' : '';
      if (!labelNames) {
        throw new FimaqError(`${dir}: class folder '${f}' is not a class index (${range}), and the model has no label names to match folder names against${hint}`);
      }
      throw new FimaqError(`${dir}: class folder '${f}' is neither a class index (${range}) nor one of the model's label names (${summary(labelNames)})${hint}`);
    });
  }
  const seen = new Map<number, string>();
  folders.forEach((f, i) => {
    const other = seen.get(labels[i]);
    const what = labelNames ? ` (${labelNames[labels[i]]})` : '';
    if (other !== undefined) throw new FimaqError(`${dir}: class folders '${other}' and '${f}' both map to class ${labels[i]}${what}`);
    seen.set(labels[i], f);
  });
  return labels;
}

/** Exact, normalised whole name, normalised alternative: the first tier with a hit decides. */
function matchTiers(labelNames: string[]): ((folder: string) => number[])[] {
  const whole = labelNames.map(normalise);
  const alternatives = labelNames.map((n) => n.split(/[/,]/).map(normalise).filter((a) => a !== ''));
  const where = (ok: (c: number) => boolean) => labelNames.flatMap((_, c) => (ok(c) ? [c] : []));
  return [
    (f) => where((c) => labelNames[c] === f),
    (f) => where((c) => whole[c] === normalise(f)),
    (f) => where((c) => alternatives[c].includes(normalise(f))),
  ];
}

/** The first few label names, so a 1000-class message stays one readable line. */
function summary(labelNames: string[]): string {
  const shown = labelNames.slice(0, 10).join(', ');
  return labelNames.length > 10 ? `${shown}, ... ${labelNames.length - 10} more` : shown;
}
