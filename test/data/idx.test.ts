import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseIdx } from '../../src/data/idx.js';
import { FimaqError } from '../../src/util/errors.js';
import { makeIdx } from './helpers.js';

describe('parseIdx', () => {
  it('reads dims and data of a hand-made image file', () => {
    const bytes = makeIdx([2, 3, 2], Array.from({ length: 12 }, (_, i) => i * 10));
    // The header really is big-endian 0x00000803.
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0, 0, 8, 3, 0, 0, 0, 2]);
    const { dims, data } = parseIdx(bytes, 'hand.idx');
    expect(dims).toEqual([2, 3, 2]);
    expect(Array.from(data)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110]);
  });

  it('reads a label file with dims above 255', () => {
    const labels = Uint8Array.from({ length: 300 }, (_, i) => i % 10);
    const { dims, data } = parseIdx(makeIdx([300], labels), 'labels.idx');
    expect(dims).toEqual([300]);
    expect(data[299]).toBe(9);
  });

  it.each([
    ['bad magic', Uint8Array.from([0x12, 0x34, 0x08, 0x03, 0, 0, 0, 0]), /^f\.idx: not an IDX file \(bad magic number 0x12340803\)$/],
    ['no dims', Uint8Array.from([0, 0, 0x08, 0]), /^f\.idx: not an IDX file/],
    ['float data', makeIdx([1], [0, 0, 0, 0], 0x0d), /^f\.idx: unsupported IDX element type float32 \(magic 0x00000d01\); only unsigned bytes are supported$/],
    ['short header', Uint8Array.from([0, 0, 0x08, 0x03, 0, 0, 0, 1]), /^f\.idx: truncated IDX file \(8 bytes, header needs 16\)$/],
    ['short data', makeIdx([2, 2, 2], [1, 2, 3]), /^f\.idx: truncated IDX file \(19 bytes, dims \[2, 2, 2\] need 24\)$/],
    ['trailing data', makeIdx([2], [1, 2, 3]), /^f\.idx: IDX file has 1 unexpected bytes after dims \[2\]$/],
    ['empty file', new Uint8Array(0), /^f\.idx: truncated IDX file \(0 bytes, no header\)$/],
  ])('rejects %s naming the file', (_, bytes, message) => {
    expect(() => parseIdx(bytes, 'f.idx')).toThrow(FimaqError);
    expect(() => parseIdx(bytes, 'f.idx')).toThrow(message);
  });
});

const FASHION = process.env.FIMAQ_FASHION_MNIST_DIR || '/usr/share/datasets/fashion-mnist';
const haveFashion = existsSync(join(FASHION, 't10k-images-idx3-ubyte.gz'));

describe.runIf(haveFashion)('parseIdx on the real Fashion-MNIST test split', () => {
  it('reads 10000 x 28 x 28 images and 10000 labels', () => {
    const images = parseIdx(gunzipSync(readFileSync(join(FASHION, 't10k-images-idx3-ubyte.gz'))), 'images');
    expect(images.dims).toEqual([10000, 28, 28]);
    expect(images.data.length).toBe(10000 * 28 * 28);

    const raw = gunzipSync(readFileSync(join(FASHION, 't10k-labels-idx1-ubyte.gz')));
    const labels = parseIdx(raw, 'labels');
    expect(labels.dims).toEqual([10000]);
    // The first label is the byte after the 8-byte header; in Fashion-MNIST it is 9 (ankle boot).
    expect(labels.data[0]).toBe(raw[8]);
    expect(labels.data[0]).toBe(9);
    expect(Math.max(...labels.data)).toBe(9);
  });
});
