/**
 * src/data/png.ts against pngjs on PNGs written by pngjs and by hand (every colour type and bit
 * depth, all five filters, with and without Adam7, palettes with tRNS, split IDAT data), against
 * values Debian's Pillow 9.4 gave for the cases where pngjs and PIL differ, and on broken files.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/data/decode.js';
import { decodePng } from '../../src/data/png.js';
import type { RawImage } from '../../src/data/preprocess.js';
import { crc32 } from '../../src/io/crc32.js';
import { FimaqError } from '../../src/util/errors.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'preprocess');

const SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

interface Spec {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlaced?: boolean;
  /** Row-major samples, SAMPLES[colorType] per pixel, each below 2^depth. */
  samples: number[];
  plte?: number[];
  trns?: number[];
  /** Bytes per IDAT chunk (default: one chunk). */
  idatSize?: number;
  /** Replaces the filter-type byte of every row. */
  filter?: number;
  /** Cuts the zlib input (filter bytes included) to this many bytes. */
  rawLength?: number;
}

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function chunk(type: string, data: Uint8Array | number[]): Uint8Array {
  const body = new Uint8Array([...type].map((c) => c.charCodeAt(0)).concat([...data]));
  const out = new Uint8Array(body.length + 8);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length - 4);
  out.set(body, 4);
  view.setUint32(4 + body.length, crc32(body));
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const SIGNATURE = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function ihdr(width: number, height: number, depth: number, colorType: number, interlace = 0): Uint8Array {
  const data = new Uint8Array(13);
  const view = new DataView(data.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  data.set([depth, colorType, 0, 0, interlace], 8);
  return chunk('IHDR', data);
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** A PNG written from the specification: rows packed MSB first, filter types cycling 0..4 row by row. */
function encode(spec: Spec): Uint8Array {
  const { width, height, depth, colorType } = spec;
  const n = SAMPLES[colorType];
  const bpp = Math.max(1, (n * depth) / 8);
  const passes = spec.interlaced ? ADAM7 : [[0, 0, 1, 1]];
  const rows: number[] = [];
  let rowIndex = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const pw = width > x0 ? Math.ceil((width - x0) / dx) : 0;
    const ph = height > y0 ? Math.ceil((height - y0) / dy) : 0;
    if (pw === 0) continue;
    let prior = new Array<number>(Math.ceil((pw * n * depth) / 8)).fill(0);
    for (let j = 0; j < ph; j++) {
      const line = new Array<number>(prior.length).fill(0);
      let bit = 0;
      for (let i = 0; i < pw; i++) {
        for (let s = 0; s < n; s++) {
          const v = spec.samples[((y0 + j * dy) * width + x0 + i * dx) * n + s];
          if (depth === 16) line.splice(bit / 8, 2, v >> 8, v & 0xff);
          else line[bit >> 3] |= v << (8 - depth - (bit & 7));
          bit += depth;
        }
      }
      const filter = rowIndex++ % 5;
      const filtered = line.map((x, k) => {
        const a = k >= bpp ? line[k - bpp] : 0;
        const b = prior[k];
        const c = k >= bpp ? prior[k - bpp] : 0;
        const predictor = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter];
        return (x - predictor) & 0xff;
      });
      rows.push(spec.filter ?? filter, ...filtered);
      prior = line;
    }
  }
  const zlib = deflateSync(Uint8Array.from(rows.slice(0, spec.rawLength)));
  const size = spec.idatSize ?? zlib.length;
  const idat: Uint8Array[] = [];
  for (let at = 0; at < zlib.length; at += size) idat.push(chunk('IDAT', zlib.subarray(at, at + size)));
  return concat([
    SIGNATURE,
    ihdr(width, height, depth, colorType, spec.interlaced ? 1 : 0),
    ...(spec.plte ? [chunk('PLTE', spec.plte)] : []),
    ...(spec.trns ? [chunk('tRNS', spec.trns)] : []),
    ...idat,
    chunk('IEND', []),
  ]);
}

/**
 * pngjs's decoding turned into what PIL's convert gives: 16-bit samples kept whole by skipRescale,
 * then the high byte, or for 16-bit grey (PIL's mode I) clipped at 255; 1/2/4-bit grey scaled.
 */
function viaPngjs(bytes: Uint8Array): RawImage {
  const png = PNG.sync.read(Buffer.from(bytes), { skipRescale: true });
  const { width, height, data, depth, colorType } = png as unknown as { width: number; height: number; data: ArrayLike<number>; depth: number; colorType: number };
  const channels = colorType === 0 || colorType === 4 ? 1 : 3;
  const to8 = (v: number) =>
    colorType === 3 ? v : depth === 16 ? (colorType === 0 ? Math.min(v, 255) : v >> 8) : depth < 8 ? (v * 255) / (2 ** depth - 1) : v;
  const out = new Uint8Array(width * height * channels);
  for (let i = 0; i < width * height; i++) for (let c = 0; c < channels; c++) out[i * channels + c] = to8(data[4 * i + c]);
  return { width, height, channels, data: out };
}

function randomSpec(colorType: number, depth: number, width: number, height: number, interlaced: boolean, seed: number): Spec {
  const next = random(seed);
  const entries = colorType === 3 ? 2 ** depth : 0;
  // Mostly random samples, with the extremes, so clipping and the high byte both show.
  const samples = Array.from({ length: width * height * SAMPLES[colorType] }, (_, i) =>
    i % 7 === 0 ? 2 ** depth - 1 : i % 11 === 0 ? 0 : Math.floor(next() * (colorType === 3 ? entries : 2 ** depth)),
  );
  const plte = colorType === 3 ? Array.from({ length: 3 * entries }, () => Math.floor(next() * 256)) : undefined;
  const trns = colorType === 3 ? Array.from({ length: Math.ceil(entries / 2) }, () => Math.floor(next() * 256)) : undefined;
  return { width, height, depth, colorType, interlaced, samples, plte, trns, idatSize: 17 };
}

/** Compares two images without a deep diff, which takes minutes on a large mismatch. */
function expectSame(got: RawImage, want: RawImage): void {
  expect({ ...got, data: got.data.length }).toEqual({ ...want, data: want.data.length });
  const at = got.data.findIndex((v, i) => v !== want.data[i]);
  expect(at, `first difference at byte ${at}: ${got.data[at]}, not ${want.data[at]}`).toBe(-1);
}

async function errorOf(bytes: Uint8Array): Promise<Error> {
  const err = await decodePng(bytes).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  expect(err).not.toBeInstanceOf(FimaqError);
  return err as Error;
}

const COMBINATIONS: [number, number][] = [
  [0, 1], [0, 2], [0, 4], [0, 8], [0, 16],
  [2, 8], [2, 16],
  [3, 1], [3, 2], [3, 4], [3, 8],
  [4, 8], [4, 16],
  [6, 8], [6, 16],
];
const SIZES: [number, number][] = [[13, 11], [3, 2], [1, 1], [33, 9]];

describe('decodePng', () => {
  describe.each(COMBINATIONS)('colour type %i, bit depth %i', (colorType, depth) => {
    it.each([false, true])('matches pngjs, interlaced: %s', async (interlaced) => {
      for (const [s, [width, height]] of SIZES.entries()) {
        const bytes = encode(randomSpec(colorType, depth, width, height, interlaced, 100 * colorType + depth + s));
        const got = await decodePng(bytes);
        expect(got.channels).toBe(colorType === 0 || colorType === 4 ? 1 : 3);
        expectSame(got, viaPngjs(bytes));
      }
    });
  });

  it.each([
    [0, 8],
    [0, 16],
    [2, 8],
    [2, 16],
    [4, 8],
    [4, 16],
    [6, 8],
    [6, 16],
  ])('matches pngjs on a colour type %i, %i-bit file pngjs wrote', async (colorType, bitDepth) => {
    const next = random(colorType * 31 + bitDepth);
    const png = new PNG({ width: 19, height: 7 });
    for (let i = 0; i < png.data.length; i++) png.data[i] = Math.floor(next() * 256);
    const bytes = Uint8Array.from(PNG.sync.write(png, { colorType: colorType as 0 | 2 | 4 | 6, bitDepth: bitDepth as 8 | 16 }));
    expectSame(await decodePng(bytes), viaPngjs(bytes));
  });

  it.each(['rgb37x23.png', 'grey64x48.png', 'rgb300x200.png'])('matches pngjs on the PIL-written fixture %s', async (name) => {
    const bytes = Uint8Array.from(readFileSync(join(FIXTURES, name)));
    expectSame(await decodePng(bytes), viaPngjs(bytes));
  });

  it("keeps the colour of pixels a tRNS colour key marks, as PIL's convert does (pngjs zeroed them)", async () => {
    const grey = { width: 3, height: 1, depth: 8, colorType: 0, samples: [1, 2, 3] };
    expect(await decodePng(encode({ ...grey, trns: [0, 2] }))).toEqual(await decodePng(encode(grey)));
    expect((await decodePng(encode({ ...grey, trns: [0, 2] }))).data).toEqual(new Uint8Array([1, 2, 3]));
    const rgb = { width: 2, height: 1, depth: 16, colorType: 2, samples: [0x100, 0x200, 0x300, 0x400, 0x500, 0x600] };
    const keyed = encode({ ...rgb, trns: [1, 0, 2, 0, 3, 0] });
    expect((await decodePng(keyed)).data).toEqual(new Uint8Array([1, 2, 3, 4, 5, 6]));
    expect(viaPngjs(keyed).data.subarray(0, 3)).toEqual(new Uint8Array([0, 0, 0]));
  });

  // Pillow 9.4 (Debian 12) gave these for the same files: Image.open(f).convert('L' or 'RGB').
  it('gives what PIL gives where PIL differs from pngjs', async () => {
    const words = [0, 0xff, 0x100, 0x7fff, 0x8080, 0xffff];
    // 16-bit grey opens as mode I, which clips; grey+alpha (LA;16B) keeps the high byte.
    expect((await decodePng(encode({ width: 6, height: 1, depth: 16, colorType: 0, samples: words }))).data).toEqual(new Uint8Array([0, 255, 255, 255, 255, 255]));
    const la = words.flatMap((v) => [v, 0x1234]);
    expect((await decodePng(encode({ width: 6, height: 1, depth: 16, colorType: 4, samples: la }))).data).toEqual(new Uint8Array([0, 0, 1, 127, 128, 255]));
    expect((await decodePng(encode({ width: 2, height: 1, depth: 16, colorType: 2, samples: words }))).data).toEqual(new Uint8Array([0, 0, 1, 127, 128, 255]));
    // An index past PLTE reads PIL's default palette entry (i, i, i); pngjs refused the file.
    const outside = encode({ width: 2, height: 1, depth: 8, colorType: 3, samples: [0, 5], plte: [10, 20, 30, 40, 50, 60] });
    expect((await decodePng(outside)).data).toEqual(new Uint8Array([10, 20, 30, 5, 5, 5]));
    expect(() => viaPngjs(outside)).toThrow('index 5 not in palette');
  });

  it('ignores image data past what the header needs, as PIL and pngjs do', async () => {
    const spec = { width: 2, height: 1, depth: 8, colorType: 0, samples: [7, 8] };
    const bytes = encode(spec);
    const zlib = deflateSync(Uint8Array.from([0, 7, 8, 9, 9, 9]));
    const extra = concat([SIGNATURE, ihdr(2, 1, 8, 0), chunk('IDAT', zlib), chunk('IEND', [])]);
    expect(await decodePng(extra)).toEqual(await decodePng(bytes));
    expect((await decodePng(extra)).data).toEqual(new Uint8Array([7, 8]));
  });

  describe('malformed files are plain Errors with a short reason', () => {
    const good = encode(randomSpec(2, 8, 13, 11, true, 1));

    it('a bad signature', async () => {
      expect((await errorOf(good.slice(1))).message).toBe('not a PNG file (bad signature)');
    });

    it('a file cut anywhere', async () => {
      for (const at of [8, 20, 33, 40, good.length - 13, good.length - 1]) {
        expect((await errorOf(good.subarray(0, at))).message).toMatch(/^file is truncated/);
      }
      expect((await errorOf(good.subarray(0, 50))).message).toBe('file is truncated in the IDAT chunk');
    });

    it('a CRC mismatch', async () => {
      const bad = good.slice();
      bad[45] ^= 1;
      expect((await errorOf(bad)).message).toBe('CRC mismatch in the IDAT chunk');
    });

    it('a bad header', async () => {
      const png = (header: Uint8Array, ...rest: Uint8Array[]) => concat([SIGNATURE, header, ...rest, chunk('IDAT', deflateSync(new Uint8Array(4))), chunk('IEND', [])]);
      expect((await errorOf(png(ihdr(1, 1, 4, 2)))).message).toBe('bit depth 4 is not allowed for colour type 2');
      expect((await errorOf(png(ihdr(1, 1, 8, 5)))).message).toBe('unknown colour type 5');
      expect((await errorOf(png(ihdr(0, 1, 8, 0)))).message).toBe('image size 0x1 is invalid');
      expect((await errorOf(png(ihdr(1, 1, 8, 0, 2)))).message).toBe('unknown interlace method 2');
      expect((await errorOf(png(ihdr(1, 1, 8, 3)))).message).toBe('palette image without a PLTE chunk');
      expect((await errorOf(png(ihdr(1, 1, 8, 3), chunk('PLTE', [1, 2])))).message).toBe('PLTE chunk of 2 bytes is not 1 to 256 RGB entries');
      expect((await errorOf(concat([SIGNATURE, chunk('gAMA', [0, 0, 0, 1]), ihdr(1, 1, 8, 0)]))).message).toBe('first chunk is the gAMA chunk, not IHDR');
      expect((await errorOf(concat([SIGNATURE, ihdr(1, 1, 8, 0), chunk('IEND', [])]))).message).toBe('no IDAT chunk');
    });

    it('IDAT chunks that are not consecutive', async () => {
      const zlib = deflateSync(new Uint8Array([0, 1, 0, 2]));
      const split = concat([SIGNATURE, ihdr(1, 2, 8, 0), chunk('IDAT', zlib.subarray(0, 4)), chunk('tEXt', [65, 0, 66]), chunk('IDAT', zlib.subarray(4)), chunk('IEND', [])]);
      expect((await errorOf(split)).message).toBe('IDAT chunks are not consecutive');
    });

    it('an unknown filter type', async () => {
      expect((await errorOf(encode({ ...randomSpec(0, 8, 3, 2, false, 2), filter: 5 }))).message).toBe('unknown filter type 5 in row 0');
      expect((await errorOf(encode({ ...randomSpec(0, 8, 3, 2, true, 2), filter: 9 }))).message).toBe('unknown filter type 9 in row 0 of pass 1');
    });

    it('too little image data, corrupt zlib data, and far too much', async () => {
      expect((await errorOf(encode({ ...randomSpec(2, 8, 5, 4, false, 3), rawLength: 40 }))).message).toBe('image data is truncated (40 of 64 bytes)');
      const garbage = concat([SIGNATURE, ihdr(1, 1, 8, 0), chunk('IDAT', [1, 2, 3, 4, 5]), chunk('IEND', [])]);
      expect((await errorOf(garbage)).message).toMatch(/^corrupt deflate data \(.+\)$/);
      const bomb = concat([SIGNATURE, ihdr(1, 1, 8, 0), chunk('IDAT', deflateSync(new Uint8Array(100_000))), chunk('IEND', [])]);
      expect((await errorOf(bomb)).message).toBe('deflate data decompresses to more than 4 bytes');
    });

    it('decodeImage names the file, on one line', async () => {
      const bad = good.slice();
      bad[45] ^= 1;
      await expect(decodeImage(bad, 'x.png')).rejects.toThrow(new FimaqError('x.png: corrupt or unsupported PNG file (CRC mismatch in the IDAT chunk)'));
    });
  });
});
