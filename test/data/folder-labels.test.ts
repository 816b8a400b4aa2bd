/** Class folders matched to the model's classes, and openDataset's label modes. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FASHION_MNIST_CLASSES } from '../../src/data/dataset.js';
import { classFolderLabels, type LabelOptions } from '../../src/data/folder-labels.js';
import { openDataset } from '../../src/data/open.js';
import type { PreprocessConfig } from '../../src/data/preprocess.js';
import { FimaqError } from '../../src/util/errors.js';
import { makeIdx, solidPng } from './helpers.js';

const cfg: PreprocessConfig = { inputSize: [1, 4, 4], mean: [0], std: [1], interpolation: 'bilinear', cropPct: 1 };
/** The demo model's classes (demo/fashion-vit/config.json). */
const fashion: LabelOptions = { numClasses: 10, labelNames: FASHION_MNIST_CLASSES, labels: 'required' };

function failure(f: () => unknown): Error {
  let err: unknown = null;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(FimaqError);
  expect((err as Error).message).not.toContain('\n');
  return err as Error;
}

describe('classFolderLabels', () => {
  it('reads integer folders as class indices, gaps and padding included', () => {
    expect(classFolderLabels('d', ['0', '12', '3'], 13)).toEqual([0, 12, 3]);
    expect(classFolderLabels('d', ['007', '1'], 10, FASHION_MNIST_CLASSES)).toEqual([7, 1]);
    expect(failure(() => classFolderLabels('d', ['0', '10'], 10)).message).toBe("d: class folder '10' is not a class index of the model (0..9)");
  });

  it('matches label names exactly, normalised, or by one alternative', () => {
    const folders = ['Ankle boot', 'Bag', 'T-shirt', 'PULLOVER', 'sneaker', 'trouser'];
    expect(classFolderLabels('d', folders, 10, FASHION_MNIST_CLASSES)).toEqual([9, 8, 0, 2, 7, 1]);
    expect(classFolderLabels('d', ['ankle_boot'], 10, FASHION_MNIST_CLASSES)).toEqual([9]);
    expect(classFolderLabels('d', ['t-shirt_top'], 10, FASHION_MNIST_CLASSES)).toEqual([0]);
    expect(classFolderLabels('d', ['top'], 10, FASHION_MNIST_CLASSES)).toEqual([0]);
    const imagenet = ['tench, Tinca tinca', 'goldfish, Carassius auratus', 'great white shark, white shark, man-eater'];
    expect(classFolderLabels('d', ['goldfish', 'great_white_shark', 'tench'], 3, imagenet)).toEqual([1, 2, 0]);
  });

  it('prefers an exact name over a normalised one', () => {
    expect(classFolderLabels('d', ['a b', 'A_B'], 2, ['A_B', 'a b'])).toEqual([1, 0]);
  });

  it('refuses a folder that matches several classes, naming them', () => {
    const names = ['crane', 'crane', 'heron'];
    expect(failure(() => classFolderLabels('d', ['Crane'], 3, names)).message).toBe(
      "d: class folder 'Crane' matches several of the model's classes (0 'crane', 1 'crane'); rename it to one label name exactly",
    );
  });

  it('refuses two folders for one class', () => {
    expect(failure(() => classFolderLabels('d', ['T-shirt', 't-shirt_top'], 10, FASHION_MNIST_CLASSES)).message).toBe(
      "d: class folders 'T-shirt' and 't-shirt_top' both map to class 0 (T-shirt/top)",
    );
    expect(failure(() => classFolderLabels('d', ['01', '1'], 10)).message).toBe("d: class folders '01' and '1' both map to class 1");
  });

  it('says how folders are read when one matches nothing', () => {
    expect(failure(() => classFolderLabels('d', ['foo'], 10, FASHION_MNIST_CLASSES)).message).toBe(
      "d: class folder 'foo' is neither a class index (0..9) nor one of the model's label names (T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot)",
    );
    expect(failure(() => classFolderLabels('d', ['cat', 'dog'], 10)).message).toBe(
      "d: class folder 'cat' is not a class index (0..9), and the model has no label names to match folder names against",
    );
    expect(failure(() => classFolderLabels('d', ['3', 'Bag', 'zzz'], 10, FASHION_MNIST_CLASSES)).message).toContain(
      "class folder '3' is neither a class index (0..9) nor one of the model's label names",
    );
    const many = Array.from({ length: 12 }, (_, i) => `class ${i}`);
    expect(failure(() => classFolderLabels('d', ['x'], 12, many)).message).toContain('class 8, class 9, ... 2 more)');
  });

  it('refuses more class folders than the model has classes', () => {
    const folders = Array.from({ length: 12 }, (_, i) => String(i));
    expect(failure(() => classFolderLabels('d', folders, 10)).message).toBe('d: has 12 class folders but the model has 10 classes');
  });
});

describe('openDataset with the model classes', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'fimaq-labels-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** An image folder with one grey image per class folder, its value the folder's position. */
  function imageFolder(name: string, folders: string[]): string {
    const dir = join(root, name);
    folders.forEach((f, i) => {
      mkdirSync(join(dir, f), { recursive: true });
      solidPng(join(dir, f, 'a.png'), [i, i, i, 255], 0);
    });
    return dir;
  }

  const labelsOf = async (dir: string, options?: LabelOptions) => {
    const ds = await openDataset(dir, cfg, options);
    return Array.from((await ds.batch(Array.from({ length: ds.count }, (_, i) => i))).labels);
  };

  it('gives integer folders with gaps their own indices, not their positions', async () => {
    const dir = imageFolder('gaps', ['0', '3', '7']);
    expect(await labelsOf(dir, { numClasses: 10, labels: 'required' })).toEqual([0, 3, 7]);
    expect(await labelsOf(dir)).toEqual([0, 1, 2]); // without the model: torchvision's positions, as before
  });

  it("maps named folders to the model's label names", async () => {
    const dir = imageFolder('named', ['Bag', 'T-shirt', 'ankle_boot']);
    const ds = await openDataset(dir, cfg, fashion);
    expect(ds.classNames).toEqual(FASHION_MNIST_CLASSES);
    expect(Array.from((await ds.batch([0, 1, 2])).labels)).toEqual([8, 0, 9]);
    expect([0, 1, 2].map((i) => ds.label(i))).toEqual([8, 0, 9]);
  });

  it('refuses folders the model cannot read, with the folder named', async () => {
    const foo = imageFolder('foo', ['Bag', 'foo']);
    await expect(openDataset(foo, cfg, fashion)).rejects.toThrow(new FimaqError(`${foo}: class folder 'foo' is neither a class index (0..9) nor one of the model's label names (${FASHION_MNIST_CLASSES.join(', ')})`));
    const twelve = imageFolder('twelve', Array.from({ length: 12 }, (_, i) => String(i)));
    await expect(openDataset(twelve, cfg, fashion)).rejects.toThrow(new FimaqError(`${twelve}: has 12 class folders but the model has 10 classes`));
    const twice = imageFolder('twice', ['Ankle boot', 'ankle-boot']);
    await expect(openDataset(twice, cfg, fashion)).rejects.toThrow(new FimaqError(`${twice}: class folders 'Ankle boot' and 'ankle-boot' both map to class 9 (Ankle boot)`));
    const flat = join(root, 'flat');
    mkdirSync(flat);
    solidPng(join(flat, 'x.png'), [1, 1, 1, 255]);
    await expect(openDataset(flat, cfg, fashion)).rejects.toThrow(`${flat}: has no class folders, so its images have no labels`);
  });

  it('accepts any folders when labels are ignored, and labels nothing', async () => {
    const dir = imageFolder('ignored', Array.from({ length: 12 }, (_, i) => `foo${i}`));
    const ds = await openDataset(dir, cfg, { ...fashion, labels: 'ignore' });
    expect(ds.count).toBe(12);
    expect(ds.classNames).toBeUndefined();
    expect(new Set(await labelsOf(dir, { ...fashion, labels: 'ignore' }))).toEqual(new Set([-1]));
  });

  it('refuses IDX labels outside the model classes, naming the labels file', async () => {
    const dir = join(root, 'idx200');
    mkdirSync(dir);
    writeFileSync(join(dir, 'x-images-idx3-ubyte'), makeIdx([3, 4, 4], new Uint8Array(48)));
    writeFileSync(join(dir, 'x-labels-idx1-ubyte'), makeIdx([3], [1, 200, 200]));
    await expect(openDataset(dir, cfg, fashion)).rejects.toThrow(
      new FimaqError(`${join(dir, 'x-labels-idx1-ubyte')}: label 200 of image 1 is outside the model's 10 classes (0..9)`),
    );
    expect((await openDataset(dir, cfg, { ...fashion, labels: 'ignore' })).count).toBe(3);
    const ok = await openDataset(`mnist:${dir}`, cfg, { numClasses: 201, labels: 'required' });
    expect([0, 1].map((i) => ok.label(i))).toEqual([1, 200]);
  });
});
