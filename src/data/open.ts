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
import { FimaqError } from '../util/errors.js';
import type { Dataset, IdxSource } from './dataset.js';
import { decodeImage } from './decode.js';
import type { LabelOptions } from './folder-labels.js';
import { imageFolderDataset, type FolderFile } from './image-folder.js';
import { fashionMnistDataset, idxSource, labelledIdxDataset, type Split } from './idx-dataset.js';
import { validatePreprocessConfig, type PreprocessConfig } from './preprocess.js';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

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
    const files = await readIdxFolder(dir, split);
    return fashionMnistDataset(split, files.images, files.labels, cfg, labels);
  }

  const mnist = /^mnist:(.+?)(?::(train|test))?$/.exec(spec);
  if (mnist) {
    const dir = requireFolder(mnist[1]);
    return openIdxFolder(dir, mnist[2] as Split | undefined, cfg, labels);
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
  if (names.some((n) => IDX_IMAGES.test(n))) return openIdxFolder(dir, split, cfg, labels);
  if (split) throw new FimaqError(`${dir}: holds no IDX files, so the :${split} suffix does not apply`);
  return openImageFolder(dir, cfg, labels);
}

function requireFolder(path: string): string {
  if (!existsSync(path)) throw new FimaqError(`dataset folder ${path} does not exist`);
  if (!statSync(path).isDirectory()) throw new FimaqError(`dataset path ${path} is not a folder`);
  return path;
}

const IDX_IMAGES = /images[-.]idx3-ubyte(\.gz)?$/;

async function openIdxFolder(dir: string, split: Split | undefined, cfg: PreprocessConfig, options: LabelOptions | undefined): Promise<Dataset> {
  const { images, labels, imagesName } = await readIdxFolder(dir, split);
  const classNames = options?.labels === 'required' ? options.labelNames : undefined;
  return labelledIdxDataset(`IDX folder ${dir}`, `${basename(dir)}/${imagesName}`, images, labels, cfg, options, classNames);
}

/**
 * Reads `<prefix>images-idx3-ubyte[.gz]` and the matching labels file. With no split and several
 * image files, the test split (t10k-*) is used, as for fashion-mnist.
 */
async function readIdxFolder(dir: string, split: Split | undefined): Promise<{ images: IdxSource; labels: IdxSource; imagesName: string }> {
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

  const imagesPath = join(dir, imagesName);
  const labelsPath = join(dir, labelsName);
  return { images: await idxSource(await readFile(imagesPath), imagesPath), labels: await idxSource(await readFile(labelsPath), labelsPath), imagesName };
}

/** Lists `dir` for imageFolderDataset: its sub-folders (links followed) and every file in it or below them. */
async function openImageFolder(dir: string, cfg: PreprocessConfig, options?: LabelOptions): Promise<Dataset> {
  const folders: { name: string; path: string }[] = [];
  const files: FolderFile[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (await isFolder(path, e.isDirectory(), e.isSymbolicLink())) folders.push({ name: e.name, path });
    else files.push({ parts: [e.name], source: path });
  }
  for (const folder of folders) files.push(...(await filesBelow(folder.path, [folder.name])));
  const read = async (path: string) => await decodeImage(await readFile(path), path);
  return imageFolderDataset({ root: dir, name: basename(dir), folders, files }, read, cfg, options);
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

/** Every file under `dir`, whose path below the root is `parts`, recursing into sub-folders. */
async function filesBelow(dir: string, parts: string[]): Promise<FolderFile[]> {
  const out: FolderFile[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (await isFolder(path, e.isDirectory(), e.isSymbolicLink())) out.push(...(await filesBelow(path, [...parts, e.name])));
    else out.push({ parts: [...parts, e.name], source: path });
  }
  return out;
}
