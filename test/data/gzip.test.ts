/** src/data/gzip.ts (DecompressionStream) against node:zlib, and its errors. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync, gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decompress, gunzip } from '../../src/data/gzip.js';
import { FimaqError } from '../../src/util/errors.js';

const FASHION = process.env.FIMAQ_FASHION_MNIST_DIR || '/usr/share/datasets/fashion-mnist';
const LABELS = join(FASHION, 't10k-labels-idx1-ubyte.gz');

function randomBytes(n: number, seed: number): Uint8Array {
  let s = seed;
  // Runs of repeats between random bytes, so the data compresses into several deflate blocks.
  return Uint8Array.from({ length: n }, (_, i) => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), i % 97 < 40 ? 7 : s >>> 24));
}

async function errorOf(result: Promise<unknown>): Promise<Error> {
  const err = await result.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  expect(err).not.toBeInstanceOf(FimaqError);
  return err as Error;
}

describe('gunzip', () => {
  it.each([0, 1, 1000, 300_000])('matches node:zlib on %i bytes', async (n) => {
    const gz = gzipSync(randomBytes(n, n + 1), { level: 9 });
    expect(Buffer.from(await gunzip(gz)).equals(gunzipSync(gz))).toBe(true);
  });

  it.runIf(existsSync(LABELS))("matches node:zlib on Fashion-MNIST's labels file", async () => {
    const gz = readFileSync(LABELS);
    expect(Buffer.from(await gunzip(gz)).equals(gunzipSync(gz))).toBe(true);
  });

  it('takes a view into a larger buffer', async () => {
    const gz = gzipSync(randomBytes(5000, 3));
    const padded = new Uint8Array(gz.length + 20);
    padded.set(gz, 10);
    expect(Buffer.from(await gunzip(padded.subarray(10, 10 + gz.length))).equals(gunzipSync(gz))).toBe(true);
  });

  it('refuses corrupt, truncated and non-gzip data with a plain Error', async () => {
    const gz = gzipSync(randomBytes(5000, 4));
    const flipped = Uint8Array.from(gz);
    flipped[gz.length >> 1] ^= 0xff;
    expect((await errorOf(gunzip(flipped))).message).toMatch(/^corrupt gzip data \(.+\)$/);
    expect((await errorOf(gunzip(gz.subarray(0, gz.length - 10)))).message).toMatch(/^corrupt gzip data \(.+\)$/);
    expect((await errorOf(gunzip(new TextEncoder().encode('plain text, not gzip')))).message).toMatch(/^corrupt gzip data \(.+\)$/);
  });
});

describe('decompress', () => {
  it('inflates zlib data as node:zlib does', async () => {
    const data = randomBytes(20_000, 5);
    expect(await decompress(deflateSync(data), 'deflate')).toEqual(data);
  });

  it('stops at the limit', async () => {
    const zlib = deflateSync(new Uint8Array(100_000));
    expect((await decompress(zlib, 'deflate', 100_000)).length).toBe(100_000);
    expect((await errorOf(decompress(zlib, 'deflate', 99_999))).message).toBe('deflate data decompresses to more than 99999 bytes');
  });
});
