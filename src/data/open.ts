/**
 * Node side of the data layer: turns a dataset spec from the command line into a Dataset.
 *
 *   fashion-mnist[:test|:train]    the Debian dataset-fashion-mnist package (default split: test)
 *   mnist:<dir>[:test|:train]      a folder of IDX files (train-* / t10k-*)
 *   <dir>[:test|:train]            the same, when <dir> holds IDX files
 *   <dir>                          an image folder: <dir>/<class>/<image>.{jpg,jpeg,png} like
 *                                  torchvision's ImageFolder, or unlabeled images directly in <dir>
 *
 * Given the model's classes (`LabelOptions`), labels are checked against them: class folders are
 * matched to class indices or label names (folder-labels.ts), IDX labels must be in range.
 */
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FimaqError } from '../util/errors.js';
import { FASHION_MNIST_CLASSES, idxDataset, imageListDataset, type Dataset, type IdxSource, type ImageSample } from './dataset.js';
import { decodeImage } from './decode.js';
import { classFolderLabels, type LabelOptions } from './folder-labels.js';
import { parseIdx } from './idx.js';
import { validatePreprocessConfig, type PreprocessConfig } from './preprocess.js';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

type Split = 'train' | 'test';

const SPEC_HELP = 'expected fashion-mnist[:test|:train], mnist:<dir>[:test|:train], or a folder of IDX files or images';

/**
 * Without `labels`, class folders are numbered by sorted position (torchvision's ImageFolder) and
 * nothing is checked against a model.
 */
export async function openDataset(spec: string, cfg: PreprocessConfig, labels?: LabelOptions): Promise<Dataset> {
  validatePreprocessConfig(cfg);

  const fashion = /^fashion-mnist(?::(train|test))?$/.exec(spec);
  if (fashion) {
    const dir = process.env.FIMAQ_FASHION_MNIST_DIR || FASHION_MNIST_DIR;
    if (!existsSync(dir)) {
      throw new FimaqError(
        `Fashion-MNIST folder ${dir} not found; run: apt-get install -y --no-install-recommends dataset-fashion-mnist (or set FIMAQ_FASHION_MNIST_DIR)`,
      );
    }
    const split = (fashion[1] as Split | undefined) ?? 'test';
    return openIdxFolder(dir, split, cfg, `fashion-mnist ${split}`, labels, { name: `fashion-mnist:${split}`, classNames: FASHION_MNIST_CLASSES });
  }

  const mnist = /^mnist:(.+?)(?::(train|test))?$/.exec(spec);
  if (mnist) {
    const dir = requireFolder(mnist[1]);
    return openIdxFolder(dir, mnist[2] as Split | undefined, cfg, `IDX folder ${dir}`, labels);
  }

  // A plain path, possibly with a split suffix (only meaningful for IDX folders).
  const suffix = /^(.+):(train|test)$/.exec(spec);
  const [path, split] = suffix && existsSync(suffix[1]) ? [suffix[1], suffix[2] as Split] : [spec, undefined];
  if (!existsSync(path)) {
    if (/^[\w-]+(:[\w-]*)?$/.test(spec)) throw new FimaqError(`unknown dataset '${spec}' (and no such folder): ${SPEC_HELP}`);
    throw new FimaqError(`dataset folder ${path} does not exist (${SPEC_HELP})`);
  }
  const dir = requireFolder(path);
  const names = await readdir(dir);
  if (names.some((n) => IDX_IMAGES.test(n))) return openIdxFolder(dir, split, cfg, `IDX folder ${dir}`, labels);
  if (split) throw new FimaqError(`${dir}: holds no IDX files, so the :${split} suffix does not apply`);
  return openImageFolder(dir, cfg, labels);
}

function requireFolder(path: string): string {
  if (!existsSync(path)) throw new FimaqError(`dataset folder ${path} does not exist`);
  if (!statSync(path).isDirectory()) throw new FimaqError(`dataset path ${path} is not a folder`);
  return path;
}

const IDX_IMAGES = /images[-.]idx3-ubyte(\.gz)?$/;

/**
 * Picks `<prefix>images-idx3-ubyte[.gz]` and the matching labels file. With no split and several
 * image files, the test split (t10k-*) is used, as for fashion-mnist.
 */
async function openIdxFolder(
  dir: string,
  split: Split | undefined,
  cfg: PreprocessConfig,
  what: string,
  options: LabelOptions | undefined,
  known: { name: string; classNames: string[] } | null = null,
): Promise<Dataset> {
  const names = (await readdir(dir)).sort();
  const candidates = names.filter((n) => IDX_IMAGES.test(n));
  const prefix = split === 'train' ? 'train' : 't10k';
  const chosen = split || candidates.length > 1 ? candidates.filter((n) => n.startsWith(prefix)) : candidates;
  if (chosen.length !== 1) {
    const wanted = split || candidates.length > 1 ? `${prefix}-images-idx3-ubyte[.gz]` : '*images-idx3-ubyte[.gz]';
    const found = chosen.length === 0 ? 'none' : chosen.join(', ');
    throw new FimaqError(`${dir}: expected exactly one IDX image file ${wanted}, found ${found}`);
  }
  const imagesName = chosen[0];
  const stem = imagesName.replace(IDX_IMAGES, (m) => m.replace('images', 'labels').replace('idx3', 'idx1')).replace(/\.gz$/, '');
  const labelsName = names.find((n) => n === stem || n === `${stem}.gz`);
  if (!labelsName) throw new FimaqError(`${dir}: no labels file ${stem}[.gz] next to ${imagesName}`);

  const images = await readIdx(join(dir, imagesName));
  const labels = await readIdx(join(dir, labelsName));
  const count = images.array.dims[0];
  const labelNames = known?.classNames ?? (options?.labels === 'required' ? options.labelNames : undefined);
  const id = { description: `${what} (${count} images, ${images.name})`, name: known?.name ?? `${basename(dir)}/${imagesName}` };
  const dataset = idxDataset(id, images, labels, cfg, labelNames);
  if (options?.labels === 'required') {
    // Labels are one byte each, so checking them all now is cheap and fails before any GPU work.
    const n = options.numClasses;
    const bad = labels.array.data.findIndex((l) => l >= n);
    if (bad >= 0) {
      throw new FimaqError(`${labels.name}: label ${labels.array.data[bad]} of image ${bad} is outside the model's ${n} classes (0..${n - 1})`);
    }
  }
  return dataset;
}

async function readIdx(path: string): Promise<IdxSource> {
  let bytes: Uint8Array = await readFile(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new FimaqError(`${path}: corrupt gzip data (${(e as Error).message})`);
    }
  }
  return { name: path, array: parseIdx(bytes, path) };
}

const SUPPORTED = /\.(jpe?g|png)$/i;
// torchvision's other IMG_EXTENSIONS: ImageFolder would load these, so skipping them would shift labels.
const UNSUPPORTED = /\.(ppm|bmp|pgm|tif|tiff|webp)$/i;

/**
 * torchvision ImageFolder: class folders sorted, samples sorted by folder path, then file name.
 * Labels: each folder's sorted position without `options`, the model class it names with
 * 'required' (see folder-labels.ts), -1 with 'ignore'.
 */
async function openImageFolder(dir: string, cfg: PreprocessConfig, options?: LabelOptions): Promise<Dataset> {
  const entries = await readdir(dir, { withFileTypes: true });
  const folders: string[] = [];
  for (const e of entries) if (await isFolder(join(dir, e.name), e.isDirectory(), e.isSymbolicLink())) folders.push(e.name);
  folders.sort(byCodePoint);

  const read = async (path: string) => decodeImage(await readFile(path), path);
  if (folders.length === 0) {
    if (options?.labels === 'required') {
      throw new FimaqError(`${dir}: has no class folders, so its images have no labels; evaluation needs labelled images in ${dir}/<class>/<image>`);
    }
    // No class folders: unlabeled images (e.g. a calibration set).
    const files = (await imageFiles(dir, false)).map(([, path]) => path);
    if (files.length === 0) throw new FimaqError(`${dir}: no .jpg/.jpeg/.png images and no class subfolders found`);
    const samples = files.map((source) => ({ source, label: -1 }));
    return imageListDataset({ description: `image folder ${dir} (${samples.length} unlabeled images)`, name: basename(dir) }, samples, read, cfg);
  }

  let labels = folders.map((_, i) => i);
  let classNames: string[] | undefined = folders;
  if (options?.labels === 'required') {
    labels = classFolderLabels(dir, folders, options.numClasses, options.labelNames);
    classNames = options.labelNames;
  } else if (options?.labels === 'ignore') {
    labels = folders.map(() => -1);
    classNames = undefined;
  }
  const samples: ImageSample[] = [];
  for (const [i, name] of folders.entries()) {
    const files = await imageFiles(join(dir, name), true);
    if (files.length === 0) throw new FimaqError(`${join(dir, name)}: class folder has no .jpg/.jpeg/.png images`);
    // sorted(os.walk(...)) orders by folder path, then sorted file names within each folder.
    files.sort(([a, pa], [b, pb]) => byCodePoint(a, b) || byCodePoint(pa, pb));
    for (const [, source] of files) samples.push({ source, label: labels[i] });
  }
  const description = `image folder ${dir} (${samples.length} images, ${folders.length} classes)`;
  return imageListDataset({ description, name: basename(dir) }, samples, read, cfg, classNames);
}

async function isFolder(path: string, isDir: boolean, isLink: boolean): Promise<boolean> {
  if (isDir) return true;
  if (!isLink) return false;
  try {
    return (await stat(path)).isDirectory(); // follow symlinks, like os.scandir().is_dir()
  } catch {
    return false;
  }
}

/** Image files under `dir` as [folder, path] pairs, recursing into subfolders when asked. */
async function imageFiles(dir: string, recursive: boolean): Promise<[string, string][]> {
  const out: [string, string][] = [];
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries.sort((a, b) => byCodePoint(a.name, b.name))) {
    const path = join(dir, e.name);
    if (await isFolder(path, e.isDirectory(), e.isSymbolicLink())) {
      if (recursive) out.push(...(await imageFiles(path, true)));
    } else if (SUPPORTED.test(e.name)) {
      out.push([dir, path]);
    } else if (UNSUPPORTED.test(e.name)) {
      throw new FimaqError(`${path}: unsupported image format; only JPEG and PNG are supported`);
    }
  }
  return out;
}

/** Plain `<` order, as Python's sorted() uses (localeCompare would differ). */
function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
