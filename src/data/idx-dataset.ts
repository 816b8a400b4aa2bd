/**
 * IDX data sets as the CLI (open.ts, from disk) and the web app (src/browser/datasets.ts, fetched)
 * both build them, so that they get the same name, class names and label checks. Pure.
 */
import { FimaqError } from '../util/errors.js';
import { FASHION_MNIST_CLASSES, idxDataset, type Dataset, type IdxSource } from './dataset.js';
import type { LabelOptions } from './folder-labels.js';
import { gunzip } from './gzip.js';
import { parseIdx } from './idx.js';
import type { PreprocessConfig } from './preprocess.js';

export type Split = 'train' | 'test';

/** The file names of Debian's dataset-fashion-mnist package, which are the original distribution's. */
export const FASHION_MNIST_FILES: Record<Split, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte.gz', labels: 'train-labels-idx1-ubyte.gz' },
  test: { images: 't10k-images-idx3-ubyte.gz', labels: 't10k-labels-idx1-ubyte.gz' },
};

/** Parses an IDX file's bytes, gunzipped first when they start with gzip's magic; `name` names the file in errors. */
export async function idxSource(bytes: Uint8Array, name: string): Promise<IdxSource> {
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = await gunzip(bytes);
    } catch (e) {
      throw new FimaqError(`${name}: ${(e as Error).message}`);
    }
  }
  return { name, array: parseIdx(bytes, name) };
}

/**
 * The images and labels as a Dataset named `name` (what files record) and described as `what`.
 * With 'required' labels, every label is checked against the model's classes now: they are one
 * byte each, so this is cheap and fails before any GPU work.
 */
export function labelledIdxDataset(
  what: string,
  name: string,
  images: IdxSource,
  labels: IdxSource,
  cfg: PreprocessConfig,
  options: LabelOptions | undefined,
  classNames?: string[],
): Dataset {
  const description = `${what} (${images.array.dims[0]} images, ${images.name})`;
  const dataset = idxDataset({ description, name }, images, labels, cfg, classNames);
  if (options?.labels === 'required') {
    const n = options.numClasses;
    const bad = labels.array.data.findIndex((l) => l >= n);
    if (bad >= 0) {
      throw new FimaqError(`${labels.name}: label ${labels.array.data[bad]} of image ${bad} is outside the model's ${n} classes (0..${n - 1})`);
    }
  }
  return dataset;
}

/** A Fashion-MNIST split, named 'fashion-mnist:<split>' wherever its files were read from. */
export function fashionMnistDataset(split: Split, images: IdxSource, labels: IdxSource, cfg: PreprocessConfig, options?: LabelOptions): Dataset {
  return labelledIdxDataset(`fashion-mnist ${split}`, `fashion-mnist:${split}`, images, labels, cfg, options, FASHION_MNIST_CLASSES);
}
