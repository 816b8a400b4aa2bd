/**
 * The dataset abstraction the CLI evaluates and calibrates on, and the two kinds of dataset
 * behind it. No Node APIs here: file access is injected (see open.ts for the Node side).
 */
import { FimaqError } from '../util/errors.js';
import type { IdxArray } from './idx.js';
import { preprocessInto, validatePreprocessConfig, type PreprocessConfig, type RawImage } from './preprocess.js';

export interface Batch {
  /** B*C*H*W, preprocessed. */
  pixels: Float32Array;
  /** -1 when unknown. */
  labels: Int32Array;
}

/** How a data set is named: `description` for messages (paths included), `name` for files. */
export interface DatasetNames {
  description: string;
  /** Independent of where the data lies ('fashion-mnist:train', a folder's own name), so a file records the same name wherever it was made. */
  name: string;
}

export interface Dataset extends DatasetNames {
  readonly count: number;
  /** Class names indexed by label. */
  readonly classNames?: string[];
  /** The label of one sample without decoding its image (-1 when unknown), so labels can be checked up front. */
  label(index: number): number;
  batch(indices: number[]): Promise<Batch>;
}

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

export interface IdxSource {
  /** File name for error messages. */
  name: string;
  array: IdxArray;
}

/** N x H x W grey images from an IDX image file, with labels from an IDX label file. */
export function idxDataset(
  names: DatasetNames,
  images: IdxSource,
  labels: IdxSource,
  cfg: PreprocessConfig,
  classNames?: string[],
): Dataset {
  validatePreprocessConfig(cfg);
  const [n, height, width] = images.array.dims;
  if (images.array.dims.length !== 3) {
    throw new FimaqError(`${images.name}: expected IDX images with 3 dims [N, H, W], got [${images.array.dims.join(', ')}]`);
  }
  if (labels.array.dims.length !== 1) {
    throw new FimaqError(`${labels.name}: expected IDX labels with 1 dim [N], got [${labels.array.dims.join(', ')}]`);
  }
  if (labels.array.dims[0] !== n) {
    throw new FimaqError(`${labels.name}: has ${labels.array.dims[0]} labels but ${images.name} has ${n} images`);
  }
  const plane = height * width;
  const load = (i: number): RawImage => ({
    width,
    height,
    channels: 1,
    data: images.array.data.subarray(i * plane, (i + 1) * plane),
  });
  return makeDataset(names, n, cfg, classNames, async (i) => load(i), (i) => labels.array.data[i]);
}

export interface ImageSample {
  /** Where the image comes from (a path or URL), passed to `read` and used in messages. */
  source: string;
  /** Class index, or -1 when unknown. */
  label: number;
}

/** Images decoded on demand by `read`, one batch at a time (ImageNet does not fit in memory). */
export function imageListDataset(
  names: DatasetNames,
  samples: ImageSample[],
  read: (source: string) => Promise<RawImage>,
  cfg: PreprocessConfig,
  classNames?: string[],
): Dataset {
  validatePreprocessConfig(cfg);
  return makeDataset(names, samples.length, cfg, classNames, (i) => read(samples[i].source), (i) => samples[i].label);
}

function makeDataset(
  { description, name }: DatasetNames,
  count: number,
  cfg: PreprocessConfig,
  classNames: string[] | undefined,
  image: (i: number) => Promise<RawImage>,
  label: (i: number) => number,
): Dataset {
  const [c, h, w] = cfg.inputSize;
  const size = c * h * w;
  const check = (i: number) => {
    if (!Number.isInteger(i) || i < 0 || i >= count) {
      throw new FimaqError(`${description}: sample index ${i} is out of range [0, ${count})`);
    }
  };
  return {
    description,
    name,
    count,
    classNames,
    label(i: number): number {
      check(i);
      return label(i);
    },
    async batch(indices: number[]): Promise<Batch> {
      indices.forEach(check);
      const pixels = new Float32Array(indices.length * size);
      const labels = Int32Array.from(indices, label);
      // One image at a time: decoding is synchronous CPU work anyway, and this bounds memory to
      // one decoded image however large the batch.
      for (let b = 0; b < indices.length; b++) preprocessInto(await image(indices[b]), cfg, pixels, b * size);
      return { pixels, labels };
    },
  };
}
