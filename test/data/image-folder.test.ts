/**
 * imageFolderDataset, the ImageFolder rules the CLI and the browser share, on listings alone:
 * sample order, labels, names and refusals. No files are read except through a recording stub.
 */
import { describe, expect, it } from 'vitest';
import { FASHION_MNIST_CLASSES } from '../../src/data/dataset.js';
import type { LabelOptions } from '../../src/data/folder-labels.js';
import { imageFolderDataset, type FolderListing } from '../../src/data/image-folder.js';
import type { PreprocessConfig, RawImage } from '../../src/data/preprocess.js';
import { FimaqError } from '../../src/util/errors.js';

const cfg: PreprocessConfig = { inputSize: [1, 1, 1], mean: [0], std: [1], interpolation: 'bilinear', cropPct: 1 };
const pixel: RawImage = { width: 1, height: 1, channels: 1, data: new Uint8Array([0]) };

/** A listing of `paths` below the root 'r', in the order given; class folders come from the paths. */
function listing(paths: string[], emptyFolders: string[] = []): FolderListing {
  const files = paths.map((p) => ({ parts: p.split('/'), source: `r/${p}` }));
  const folders = [...new Set([...paths.filter((p) => p.includes('/')).map((p) => p.split('/')[0]), ...emptyFolders])];
  return { root: 'r', name: 'r', folders: folders.map((name) => ({ name, path: `r/${name}` })), files };
}

/** The dataset, and its samples as [source, label] in the order its batches read them. */
async function open(l: FolderListing, options?: LabelOptions) {
  const read: string[] = [];
  const ds = imageFolderDataset(l, async (source) => (read.push(source), pixel), cfg, options);
  await ds.batch(Array.from({ length: ds.count }, (_, i) => i));
  return { ds, samples: read.map((source, i) => [source, ds.label(i)]) };
}

describe('imageFolderDataset', () => {
  it("orders as ImageFolder: class folders by code point, then each folder's files by folder path and file path", async () => {
    const { ds, samples } = await open(
      listing(['b/z.png', 'B/x.jpg', 'b/sub/a.png', 'b/a.PNG', 'b/sub-x/c.jpeg', 'b/notes.txt', 'stray.png', 'é/1.png', 'b/a b.png']),
    );
    expect(samples).toEqual([
      ['r/B/x.jpg', 0],
      ['r/b/a b.png', 1],
      ['r/b/a.PNG', 1],
      ['r/b/z.png', 1],
      // folder 'b/sub' < 'b/sub-x' although 'sub/a.png' > 'sub-x/c.jpeg' as whole paths
      ['r/b/sub/a.png', 1],
      ['r/b/sub-x/c.jpeg', 1],
      ['r/é/1.png', 2],
    ]);
    expect(ds.classNames).toEqual(['B', 'b', 'é']);
    expect(ds.name).toBe('r');
    expect(ds.description).toBe('image folder r (7 images, 3 classes)');
  });

  it("maps class folders to the model's classes when labels are required", async () => {
    const options: LabelOptions = { labels: 'required', numClasses: 10, labelNames: FASHION_MNIST_CLASSES };
    const { ds, samples } = await open(listing(['Trouser/1.png', 'ankle_boot/2.png', 'T-shirt/3.png']), options);
    expect(samples).toEqual([
      ['r/T-shirt/3.png', 0],
      ['r/Trouser/1.png', 1],
      ['r/ankle_boot/2.png', 9],
    ]);
    expect(ds.classNames).toEqual(FASHION_MNIST_CLASSES);
    const numbered = await open(listing(['7/a.png', '10/b.png']), { labels: 'required', numClasses: 11 });
    expect(numbered.samples).toEqual([
      ['r/10/b.png', 10],
      ['r/7/a.png', 7],
    ]);
  });

  it("labels every sample -1 when labels are ignored, and reads a folder without class folders as unlabelled images", async () => {
    expect((await open(listing(['x/1.png', 'y/2.png']), { labels: 'ignore', numClasses: 2 })).samples).toEqual([
      ['r/x/1.png', -1],
      ['r/y/2.png', -1],
    ]);
    const flat = await open(listing(['b.png', 'a.jpg', 'read-me.txt']), { labels: 'ignore', numClasses: 2 });
    expect(flat.samples).toEqual([
      ['r/a.jpg', -1],
      ['r/b.png', -1],
    ]);
    expect(flat.ds.description).toBe('image folder r (2 unlabeled images)');
  });

  it('refuses what the CLI refuses, naming the file or folder', async () => {
    const fails = (l: FolderListing, message: string, options?: LabelOptions) => {
      expect(() => imageFolderDataset(l, async () => pixel, cfg, options)).toThrow(new FimaqError(message));
    };
    fails(listing(['a/1.png', 'a/2.bmp']), 'r/a/2.bmp: unsupported image format; only JPEG and PNG are supported');
    fails(listing(['a/1.png', 'b/notes.txt']), 'r/b: class folder has no .jpg/.jpeg/.png images');
    fails(listing(['a/1.png'], ['empty']), 'r/empty: class folder has no .jpg/.jpeg/.png images');
    fails(listing(['notes.txt']), 'r: no .jpg/.jpeg/.png images and no class subfolders found');
    fails(
      listing(['1.png']),
      'r: has no class folders, so its images have no labels; evaluation needs labelled images in r/<class>/<image>',
      { labels: 'required', numClasses: 10 },
    );
    fails(listing(['cat/1.png']), "r: class folder 'cat' is not a class index (0..9), and the model has no label names to match folder names against", {
      labels: 'required',
      numClasses: 10,
    });
  });
});
