/**
 * src/browser/datasets.ts in Node: fetch stubbed with the Debian files, File objects made from a
 * folder on disk. Each data set must equal what the CLI's openDataset gives for the same data:
 * name, class names, labels and preprocessed pixels.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encode as jpegEncode } from 'jpeg-js';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { fashionMnistFromUrl, imageFolderFromFiles } from '../../src/browser/datasets.js';
import { FASHION_MNIST_CLASSES, type Dataset } from '../../src/data/dataset.js';
import type { LabelOptions } from '../../src/data/folder-labels.js';
import { openDataset } from '../../src/data/open.js';
import type { PreprocessConfig } from '../../src/data/preprocess.js';
import { FimaqError } from '../../src/util/errors.js';
import { makeIdx, solidPng } from './helpers.js';

const FASHION = process.env.FIMAQ_FASHION_MNIST_DIR || '/usr/share/datasets/fashion-mnist';
const haveFashion = existsSync(join(FASHION, 't10k-images-idx3-ubyte.gz'));

const fashionCfg: PreprocessConfig = { inputSize: [1, 28, 28], mean: [0.286], std: [0.353], interpolation: 'bilinear', cropPct: 1 };
const cfg3: PreprocessConfig = { inputSize: [3, 8, 8], mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3], interpolation: 'bicubic', cropPct: 0.875 };
const fashionLabels: LabelOptions = { labels: 'required', numClasses: 10, labelNames: FASHION_MNIST_CLASSES };

/** Serves `files` (URL -> bytes) and records the URLs asked for; anything else is a 404. */
function serve(files: Record<string, Uint8Array>): string[] {
  const asked: string[] = [];
  vi.stubGlobal('fetch', async (url: string) => {
    asked.push(url);
    return url in files ? new Response(files[url].slice()) : new Response('not here', { status: 404, statusText: 'Not Found' });
  });
  return asked;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

async function expectSameData(got: Dataset, want: Dataset, indices: number[]): Promise<void> {
  expect([got.name, got.count, got.classNames]).toEqual([want.name, want.count, want.classNames]);
  const [a, b] = [await got.batch(indices), await want.batch(indices)];
  expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
  expect(Buffer.from(a.pixels.buffer).equals(Buffer.from(b.pixels.buffer))).toBe(true);
}

describe('fashionMnistFromUrl', () => {
  it.runIf(haveFashion)("gives openDataset('fashion-mnist:test')'s name, labels and pixels", async () => {
    const asked = serve({
      'https://data.example/fm/t10k-images-idx3-ubyte.gz': readFileSync(join(FASHION, 't10k-images-idx3-ubyte.gz')),
      'https://data.example/fm/t10k-labels-idx1-ubyte.gz': readFileSync(join(FASHION, 't10k-labels-idx1-ubyte.gz')),
    });
    const got = await fashionMnistFromUrl('https://data.example/fm/', 'test', fashionCfg, fashionLabels);
    expect(asked.sort()).toEqual(['https://data.example/fm/t10k-images-idx3-ubyte.gz', 'https://data.example/fm/t10k-labels-idx1-ubyte.gz']);
    const want = await openDataset('fashion-mnist:test', fashionCfg, fashionLabels);
    expect(got.name).toBe('fashion-mnist:test');
    await expectSameData(got, want, [0, 1, 2, 4999, 9999]);
  });

  it('fetches the train files, takes data fetch already gunzipped, and checks labels as the CLI does', async () => {
    const images = makeIdx([3, 2, 2], [0, 50, 100, 150, 200, 250, 1, 2, 3, 4, 5, 6]);
    const labels = makeIdx([3], [9, 0, 4]);
    const files = {
      'u/train-images-idx3-ubyte.gz': gzipSync(images),
      // As a server sending Content-Encoding: gzip would have it: fetch undid the gzip.
      'u/train-labels-idx1-ubyte.gz': labels,
    };
    serve(files);
    const ds = await fashionMnistFromUrl('u', 'train', { ...fashionCfg, inputSize: [1, 2, 2] }, fashionLabels);
    expect([ds.name, ds.count, ds.classNames, ds.label(0), ds.label(2)]).toEqual(['fashion-mnist:train', 3, FASHION_MNIST_CLASSES, 9, 4]);
    expect(ds.description).toBe('fashion-mnist train (3 images, u/train-images-idx3-ubyte.gz)');
    await expect(fashionMnistFromUrl('u', 'train', fashionCfg, { labels: 'required', numClasses: 5 })).rejects.toThrow(
      new FimaqError("u/train-labels-idx1-ubyte.gz: label 9 of image 0 is outside the model's 5 classes (0..4)"),
    );
  });

  it('names the URL when a file is missing, corrupt or unreachable', async () => {
    serve({ 'u/t10k-images-idx3-ubyte.gz': Uint8Array.from([0x1f, 0x8b, 1, 2, 3]), 'u/t10k-labels-idx1-ubyte.gz': makeIdx([1], [0]) });
    await expect(fashionMnistFromUrl('u', 'test', fashionCfg, fashionLabels)).rejects.toThrow(/^u\/t10k-images-idx3-ubyte\.gz: corrupt gzip data \(/);
    serve({});
    await expect(fashionMnistFromUrl('u', 'test', fashionCfg, fashionLabels)).rejects.toThrow(new FimaqError('u/t10k-images-idx3-ubyte.gz: HTTP 404 Not Found'));
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch');
    });
    await expect(fashionMnistFromUrl('u', 'test', fashionCfg, fashionLabels)).rejects.toThrow(
      new FimaqError('u/t10k-images-idx3-ubyte.gz: could not be fetched (Failed to fetch)'),
    );
  });
});

describe('imageFolderFromFiles', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'fimaq-browser-data-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** Every file below `dir` as the File a folder input gives: webkitRelativePath is `<dir's name>/...`, listed in reverse order. */
  function filesOf(dir: string): File[] {
    const walk = (d: string): string[] => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
    return walk(dir)
      .sort()
      .reverse()
      .map((path) => {
        const file = new File([readFileSync(path)], basename(path));
        Object.defineProperty(file, 'webkitRelativePath', { value: `${basename(dir)}/${relative(dir, path)}` });
        return file;
      });
  }

  it('gives the same data set as openDataset on the folder', async () => {
    const dir = join(root, 'shoes');
    mkdirSync(join(dir, 'Sneaker', 'more'), { recursive: true });
    mkdirSync(join(dir, 'Ankle boot'), { recursive: true });
    mkdirSync(join(dir, 'Sandal'), { recursive: true });
    solidPng(join(dir, 'Sneaker', 'b.png'), [200, 10, 10, 255]);
    solidPng(join(dir, 'Sneaker', 'a.png'), [10, 200, 10, 255], 0);
    solidPng(join(dir, 'Sneaker', 'more', 'c.png'), [10, 10, 200, 0], 6);
    solidPng(join(dir, 'Ankle boot', 'x.PNG'), [90, 80, 70, 255]);
    const jpeg = jpegEncode({ width: 16, height: 12, data: Buffer.alloc(16 * 12 * 4, 120) }, 90).data;
    writeFileSync(join(dir, 'Sandal', 'y.jpg'), jpeg);
    writeFileSync(join(dir, 'Sandal', 'notes.txt'), 'skipped');
    solidPng(join(dir, 'beside-classes.png'), [1, 2, 3, 255]);

    for (const labels of [fashionLabels, { labels: 'ignore', numClasses: 10 } as LabelOptions]) {
      const want = await openDataset(dir, cfg3, labels);
      // As a folder input gives them, and as a drop handler passes them: paths beside the files.
      const dropped = filesOf(dir).map((file) => ({ path: file.webkitRelativePath, file: new File([file], file.name) }));
      for (const got of [await imageFolderFromFiles(filesOf(dir), cfg3, labels), await imageFolderFromFiles(dropped, cfg3, labels)]) {
        expect(got.count).toBe(5);
        expect(got.name).toBe('shoes');
        await expectSameData(got, want, [0, 1, 2, 3, 4]);
      }
    }
    const got = await imageFolderFromFiles(filesOf(dir), cfg3, fashionLabels);
    expect([0, 1, 2, 3, 4].map((i) => got.label(i))).toEqual([9, 5, 7, 7, 7]);
  });

  it('reads a folder of images without class folders as unlabelled', async () => {
    const dir = join(root, 'calib');
    mkdirSync(dir);
    solidPng(join(dir, 'b.png'), [5, 6, 7, 255]);
    solidPng(join(dir, 'a.png'), [8, 9, 10, 255]);
    const ignore: LabelOptions = { labels: 'ignore', numClasses: 10 };
    await expectSameData(await imageFolderFromFiles(filesOf(dir), cfg3, ignore), await openDataset(dir, cfg3, ignore), [0, 1]);
  });

  it('refuses files without a folder path, from two folders, or none, and names a corrupt image', async () => {
    // Browsers give '' to files picked one by one.
    const inFolder = (path: string, bytes = new Uint8Array(3)) => {
      const file = new File([bytes], basename(path) || 'a.png');
      Object.defineProperty(file, 'webkitRelativePath', { value: path });
      return file;
    };
    await expect(imageFolderFromFiles([inFolder('')], cfg3, fashionLabels)).rejects.toThrow(new FimaqError('a.png: has no folder path; select a folder, not single files'));
    await expect(imageFolderFromFiles([inFolder('one/a.png'), inFolder('two/b.png')], cfg3, fashionLabels)).rejects.toThrow(
      new FimaqError('two/b.png: is outside the folder one; select one folder'),
    );
    await expect(imageFolderFromFiles([], cfg3, fashionLabels)).rejects.toThrow(new FimaqError('no files selected; select a folder of images'));
    await expect(imageFolderFromFiles([{ path: 'a.png', file: new File([], 'a.png') }], cfg3, fashionLabels)).rejects.toThrow(
      new FimaqError('a.png: has no folder path; select a folder, not single files'),
    );
    const ds = await imageFolderFromFiles([inFolder('d/Bag/a.png', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]))], cfg3, fashionLabels);
    await expect(ds.batch([0])).rejects.toThrow(new FimaqError('d/Bag/a.png: corrupt or unsupported PNG file (no IHDR chunk after the signature)'));
  });
});
