/**
 * An image folder read as torchvision's ImageFolder reads it, from a listing of its files: the CLI
 * lists a folder on disk (open.ts), the web app a selected folder's File objects
 * (src/browser/datasets.ts), and both get their samples, order and labels from here. Pure.
 */
import { FimaqError } from '../util/errors.js';
import { imageListDataset, type Dataset, type ImageSample } from './dataset.js';
import { classFolderLabels, type LabelOptions } from './folder-labels.js';
import type { PreprocessConfig, RawImage } from './preprocess.js';

const SUPPORTED = /\.(jpe?g|png)$/i;
// torchvision's other IMG_EXTENSIONS: ImageFolder would load these, so skipping them would shift labels.
const UNSUPPORTED = /\.(ppm|bmp|pgm|tif|tiff|webp)$/i;

export interface FolderFile {
  /** The path below the root, split: [image] or [class folder, ...sub-folders, image]. */
  parts: string[];
  /** What `read` is given, and messages name. */
  source: string;
}

export interface FolderListing {
  /** The root as messages name it. */
  root: string;
  /** The data set's name, which files record: the root folder's own name. */
  name: string;
  /** The root's sub-folders, each with the path messages name it by; empty ones too where they can be seen. */
  folders: { name: string; path: string }[];
  /** Every file: directly in the root, or anywhere below a class folder. */
  files: FolderFile[];
}

/** Plain `<` order, as Python's sorted() uses (localeCompare would differ). */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Class folders sorted; samples sorted by folder path, then file path, as sorted(os.walk(...)) in
 * ImageFolder. Labels: each folder's sorted position without `options`, the model class it names
 * with 'required' (see folder-labels.ts), -1 with 'ignore'. Without class folders the root's own
 * images are an unlabelled set (e.g. calibration images).
 */
export function imageFolderDataset(listing: FolderListing, read: (source: string) => Promise<RawImage>, cfg: PreprocessConfig, options?: LabelOptions): Dataset {
  const { root, name } = listing;
  const folders = [...listing.folders].sort((a, b) => byCodePoint(a.name, b.name));
  const below = new Map<string, FolderFile[]>(folders.map((f) => [f.name, []]));
  const inRoot: FolderFile[] = [];
  for (const file of listing.files) {
    if (file.parts.length === 1) inRoot.push(file);
    else below.get(file.parts[0])?.push(file);
  }

  if (folders.length === 0) {
    if (options?.labels === 'required') {
      throw new FimaqError(`${root}: has no class folders, so its images have no labels; evaluation needs labelled images in ${root}/<class>/<image>`);
    }
    const samples = images(inRoot).map((source) => ({ source, label: -1 }));
    if (samples.length === 0) throw new FimaqError(`${root}: no .jpg/.jpeg/.png images and no class subfolders found`);
    return imageListDataset({ description: `image folder ${root} (${samples.length} unlabeled images)`, name }, samples, read, cfg);
  }

  const folderNames = folders.map((f) => f.name);
  let labels = folders.map((_, i) => i);
  let classNames: string[] | undefined = folderNames;
  if (options?.labels === 'required') {
    labels = classFolderLabels(root, folderNames, options.numClasses, options.labelNames);
    classNames = options.labelNames;
  } else if (options?.labels === 'ignore') {
    labels = folders.map(() => -1);
    classNames = undefined;
  }
  const samples: ImageSample[] = [];
  for (const [i, folder] of folders.entries()) {
    const sources = images(below.get(folder.name) as FolderFile[]);
    if (sources.length === 0) throw new FimaqError(`${folder.path}: class folder has no .jpg/.jpeg/.png images`);
    for (const source of sources) samples.push({ source, label: labels[i] });
  }
  const description = `image folder ${root} (${samples.length} images, ${folders.length} classes)`;
  return imageListDataset({ description, name }, samples, read, cfg, classNames);
}

/**
 * The sources of the JPEG and PNG files among `files`, ordered by folder path, then file path (one
 * common root, so comparing paths below it orders as the full paths would). Other formats that
 * ImageFolder loads are refused; anything else is skipped.
 */
function images(files: FolderFile[]): string[] {
  const keyed = files.map((file) => ({ folder: file.parts.slice(0, -1).join('/'), path: file.parts.join('/'), file }));
  keyed.sort((a, b) => byCodePoint(a.folder, b.folder) || byCodePoint(a.path, b.path));
  const out: string[] = [];
  for (const { file } of keyed) {
    const base = file.parts[file.parts.length - 1];
    if (SUPPORTED.test(base)) out.push(file.source);
    else if (UNSUPPORTED.test(base)) throw new FimaqError(`${file.source}: unsupported image format; only JPEG and PNG are supported`);
  }
  return out;
}
