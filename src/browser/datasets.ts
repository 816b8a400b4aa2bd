/**
 * Data sets for the web app, built by the same pure code as the CLI's (src/data/open.ts), so a
 * quantized file made in the page records the same data name and the same pixels as one made in
 * Node: Fashion-MNIST fetched from a URL, and an image folder the user selected.
 */
import type { Dataset, IdxSource } from '../data/dataset.js';
import { decodeImage } from '../data/decode.js';
import type { LabelOptions } from '../data/folder-labels.js';
import { imageFolderDataset, type FolderFile } from '../data/image-folder.js';
import { FASHION_MNIST_FILES, fashionMnistDataset, idxSource, type Split } from '../data/idx-dataset.js';
import type { PreprocessConfig } from '../data/preprocess.js';
import { FimaqError } from '../util/errors.js';

/**
 * Fashion-MNIST's split from `${baseUrl}/train-images-idx3-ubyte.gz` and the other files of
 * Debian's dataset-fashion-mnist package, named 'fashion-mnist:<split>' as in the CLI.
 */
export async function fashionMnistFromUrl(baseUrl: string, split: Split, cfg: PreprocessConfig, labels: LabelOptions): Promise<Dataset> {
  const { images, labels: labelsFile } = FASHION_MNIST_FILES[split];
  const base = baseUrl.replace(/\/+$/, '');
  const [imagesIdx, labelsIdx] = await Promise.all([fetchIdx(`${base}/${images}`), fetchIdx(`${base}/${labelsFile}`)]);
  return fashionMnistDataset(split, imagesIdx, labelsIdx, cfg, labels);
}

async function fetchIdx(url: string): Promise<IdxSource> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new FimaqError(`${url}: could not be fetched (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!response.ok) throw new FimaqError(`${url}: HTTP ${response.status} ${response.statusText}`.trim());
  // A server that sends the .gz with Content-Encoding: gzip has it undone by fetch; idxSource
  // gunzips only what still starts with gzip's magic.
  return idxSource(new Uint8Array(await response.arrayBuffer()), url);
}

/**
 * A file of a selected or dropped folder with its path `root/<class>/.../<image>` or
 * `root/<image>`. A File from `<input type="file" webkitdirectory>` carries it as
 * webkitRelativePath; dropped files (and files posted to a worker) lose it, so the page passes
 * the path it walked instead.
 */
export type FolderFileInput = File | { path: string; file: File };

/**
 * A folder the user selected or dropped, read as the CLI reads the same folder on disk
 * (ImageFolder's order, class folders mapped to the model's classes) and named by the root
 * folder's name. Empty folders are invisible here, where the CLI would refuse an empty class folder.
 */
export async function imageFolderFromFiles(files: FolderFileInput[], cfg: PreprocessConfig, labels: LabelOptions): Promise<Dataset> {
  const byPath = new Map<string, File>();
  const listed: FolderFile[] = [];
  const folders = new Set<string>();
  let root: string | undefined;
  for (const input of files) {
    const { path, file } = 'file' in input ? input : { path: input.webkitRelativePath, file: input };
    const [top, ...parts] = path.split('/');
    if (parts.length === 0) throw new FimaqError(`${file.name}: has no folder path; select a folder, not single files`);
    if (root !== undefined && top !== root) throw new FimaqError(`${path}: is outside the folder ${root}; select one folder`);
    root = top;
    byPath.set(path, file);
    listed.push({ parts, source: path });
    if (parts.length > 1) folders.add(parts[0]);
  }
  if (root === undefined) throw new FimaqError('no files selected; select a folder of images');
  const read = async (source: string) => await decodeImage(new Uint8Array(await (byPath.get(source) as File).arrayBuffer()), source);
  const listing = { root, name: root, folders: [...folders].map((name) => ({ name, path: `${root}/${name}` })), files: listed };
  return imageFolderDataset(listing, read, cfg, labels);
}
