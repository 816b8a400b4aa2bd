import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FASHION_MNIST_CLASSES } from '../../src/data/dataset.js';
import { openDataset } from '../../src/data/open.js';
import type { PreprocessConfig } from '../../src/data/preprocess.js';
import { FimaqError } from '../../src/util/errors.js';
import { makeIdx, solidPng } from './helpers.js';

// Identity normalisation and no resize for 4x4 images, so pixels read back as value / 255.
const cfg3: PreprocessConfig = { inputSize: [3, 4, 4], mean: [0, 0, 0], std: [1, 1, 1], interpolation: 'bilinear', cropPct: 1 };
const cfg1: PreprocessConfig = { ...cfg3, inputSize: [1, 4, 4], mean: [0], std: [1] };

const channelValues = (pixels: Float32Array, b: number, c: number, hw = 16): number[] => {
  const start = (b * c) * hw;
  return Array.from({ length: c }, (_, ch) => Math.round(pixels[start + ch * hw] * 255));
};

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'fimaq-data-'));
  writeFileSync(join(root, 'file.txt'), 'not a folder');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('image folder', () => {
  it('lists classes and samples like torchvision ImageFolder', async () => {
    const dir = join(root, 'folder');
    // Created out of order: classes and files must come back sorted.
    mkdirSync(join(dir, 'dog'), { recursive: true });
    mkdirSync(join(dir, 'cat', 'nested'), { recursive: true });
    solidPng(join(dir, 'dog', 'b.png'), [0, 0, 200, 255]);
    solidPng(join(dir, 'dog', 'a.png'), [0, 100, 0, 255]);
    solidPng(join(dir, 'cat', 'z.PNG'), [50, 50, 50, 255], 0);
    solidPng(join(dir, 'cat', 'nested', 'a.png'), [10, 20, 30, 0], 6); // alpha is dropped
    writeFileSync(join(dir, 'cat', 'notes.txt'), 'not an image');
    solidPng(join(dir, 'stray.png'), [1, 2, 3, 255]); // files beside class folders are ignored

    const ds = await openDataset(dir, cfg3);
    expect(ds.classNames).toEqual(['cat', 'dog']);
    expect(ds.count).toBe(4);
    expect(ds.description).toBe(`image folder ${dir} (4 images, 2 classes)`);

    // cat/z.PNG (folder cat) sorts before cat/nested/a.png (folder cat/nested).
    const { pixels, labels } = await ds.batch([0, 1, 2, 3]);
    expect(Array.from(labels)).toEqual([0, 0, 1, 1]);
    expect(pixels.length).toBe(4 * 3 * 16);
    expect([0, 1, 2, 3].map((b) => channelValues(pixels, b, 3))).toEqual([
      [50, 50, 50],
      [10, 20, 30],
      [0, 100, 0],
      [0, 0, 200],
    ]);

    // A one-channel model gets PIL's L conversion: (0*19595 + 100*38470 + 0*7471 + 0x8000) >> 16 = 59.
    const grey = await (await openDataset(dir, cfg1)).batch([2, 0]);
    expect([0, 1].map((b) => channelValues(grey.pixels, b, 1))).toEqual([[59], [50]]);
  });

  it('treats a folder of images without class folders as unlabeled', async () => {
    const dir = join(root, 'flat');
    mkdirSync(dir);
    solidPng(join(dir, '2.png'), [9, 9, 9, 255]);
    solidPng(join(dir, '1.png'), [8, 8, 8, 255]);
    const ds = await openDataset(dir, cfg3);
    expect(ds.classNames).toBeUndefined();
    const { pixels, labels } = await ds.batch([0, 1]);
    expect(Array.from(labels)).toEqual([-1, -1]);
    expect(channelValues(pixels, 0, 3)).toEqual([8, 8, 8]);
    await expect(ds.batch([2])).rejects.toThrow(`${ds.description}: sample index 2 is out of range [0, 2)`);
  });

  it('reports a corrupt image by path when it is loaded', async () => {
    const dir = join(root, 'corrupt');
    mkdirSync(join(dir, 'a'), { recursive: true });
    writeFileSync(join(dir, 'a', 'x.jpg'), Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2, 3]));
    const ds = await openDataset(dir, cfg3);
    await expect(ds.batch([0])).rejects.toThrow(`${join(dir, 'a', 'x.jpg')}: corrupt or unsupported JPEG file (`);
  });

  it('rejects images it cannot decode up front, so labels never shift', async () => {
    const dir = join(root, 'bmp');
    mkdirSync(join(dir, 'a'), { recursive: true });
    writeFileSync(join(dir, 'a', 'x.bmp'), 'BM');
    await expect(openDataset(dir, cfg3)).rejects.toThrow(`${join(dir, 'a', 'x.bmp')}: unsupported image format`);
  });

  it('rejects an empty class folder and an empty folder', async () => {
    const dir = join(root, 'emptyclass');
    mkdirSync(join(dir, 'a'), { recursive: true });
    await expect(openDataset(dir, cfg3)).rejects.toThrow(`${join(dir, 'a')}: class folder has no .jpg/.jpeg/.png images`);
    const empty = join(root, 'empty');
    mkdirSync(empty);
    await expect(openDataset(empty, cfg3)).rejects.toThrow(new FimaqError(`${empty}: no .jpg/.jpeg/.png images and no class subfolders found`));
  });
});

describe('dataset specs', () => {
  it('reads an IDX folder by path and as mnist:<dir> with a split suffix', async () => {
    const dir = join(root, 'idx');
    mkdirSync(dir);
    const pixels = (n: number, base: number) => Uint8Array.from({ length: n * 16 }, (_, i) => base + Math.floor(i / 16));
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), makeIdx([3, 4, 4], pixels(3, 100)));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(makeIdx([3], [7, 8, 9])));
    writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(makeIdx([2, 4, 4], pixels(2, 10))));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), makeIdx([2], [1, 2]));

    const test = await openDataset(dir, cfg3); // several splits: test by default
    expect(test.count).toBe(2);
    const tb = await test.batch([1]);
    expect(Array.from(tb.labels)).toEqual([2]);
    expect(channelValues(tb.pixels, 0, 3)).toEqual([11, 11, 11]); // grey replicated to RGB

    for (const spec of [`${dir}:train`, `mnist:${dir}:train`]) {
      const train = await openDataset(spec, cfg1);
      expect(train.count).toBe(3);
      expect(train.classNames).toBeUndefined();
      const b = await train.batch([2, 0]);
      expect(Array.from(b.labels)).toEqual([9, 7]);
      expect([0, 1].map((i) => channelValues(b.pixels, i, 1))).toEqual([[102], [100]]);
    }
    expect((await openDataset(`mnist:${dir}`, cfg1)).count).toBe(2);
  });

  it('names the file when IDX images and labels disagree', async () => {
    const dir = join(root, 'idxbad');
    mkdirSync(dir);
    writeFileSync(join(dir, 'x-images-idx3-ubyte'), makeIdx([2, 4, 4], new Uint8Array(32)));
    writeFileSync(join(dir, 'x-labels-idx1-ubyte'), makeIdx([3], [0, 1, 2]));
    await expect(openDataset(dir, cfg1)).rejects.toThrow(`${join(dir, 'x-labels-idx1-ubyte')}: has 3 labels but`);
  });

  it.each([
    ['a missing folder', () => join(root, 'nope'), (p: string) => `dataset folder ${p} does not exist`],
    ['a missing mnist folder', () => `mnist:${join(root, 'nope')}`, () => `dataset folder ${join(root, 'nope')} does not exist`],
    ['an unknown name', () => 'cifar10', () => "unknown dataset 'cifar10' (and no such folder)"],
    ['a file instead of a folder', () => join(root, 'file.txt'), (p: string) => `dataset path ${p} is not a folder`],
  ])('rejects %s, naming it', async (_, spec, message) => {
    const err = await openDataset(spec(), cfg3).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FimaqError);
    expect((err as Error).message).toContain(message(spec()));
    expect((err as Error).message).not.toContain('\n');
  });
});

describe('fashion-mnist', () => {
  const saved = process.env.FIMAQ_FASHION_MNIST_DIR;
  afterEach(() => {
    if (saved === undefined) delete process.env.FIMAQ_FASHION_MNIST_DIR;
    else process.env.FIMAQ_FASHION_MNIST_DIR = saved;
  });

  it('says how to install the dataset when its folder is missing', async () => {
    process.env.FIMAQ_FASHION_MNIST_DIR = join(root, 'no-fashion');
    await expect(openDataset('fashion-mnist', cfg1)).rejects.toThrow(
      `Fashion-MNIST folder ${join(root, 'no-fashion')} not found; run: apt-get install -y --no-install-recommends dataset-fashion-mnist`,
    );
  });

  const dir = saved || '/usr/share/datasets/fashion-mnist';
  it.runIf(existsSync(join(dir, 't10k-images-idx3-ubyte.gz')))('opens the test split by default', async () => {
    const cfg: PreprocessConfig = { inputSize: [1, 28, 28], mean: [0.286], std: [0.353], interpolation: 'bicubic', cropPct: 1 };
    const ds = await openDataset('fashion-mnist', cfg);
    expect(ds.count).toBe(10000);
    expect(ds.classNames).toEqual(FASHION_MNIST_CLASSES);
    expect(ds.description).toContain('fashion-mnist test (10000 images');
    const { pixels, labels } = await ds.batch([0, 9999]);
    expect(pixels.length).toBe(2 * 28 * 28);
    expect(labels[0]).toBe(9);
    expect((await openDataset('fashion-mnist:test', cfg)).count).toBe(10000);
  });
});
