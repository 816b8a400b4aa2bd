/**
 * PNG decoding written from the PNG specification (W3C PNG, second edition): every colour type and
 * bit depth, the five filter types and Adam7 interlacing. The zlib data goes through the platform's
 * DecompressionStream, so this is pure and browser-safe, and Node and the page decode alike.
 *
 * Pixels come out as PIL's convert('L') / convert('RGB') give them (Debian's Pillow 9.4, the one
 * behind tools/make_preprocess_fixture.py):
 *   - grey (colour types 0, 4) -> 1 channel; truecolour and palette (2, 3, 6) -> 3 channels; alpha
 *     is dropped;
 *   - 1, 2 and 4-bit grey is scaled to 0..255 (v * 255 / (2^depth - 1)), as PIL's L;2 / L;4 / 1 modes;
 *   - 16-bit samples keep their high byte (PIL's ;16B raw modes), except 16-bit grey: PIL opens it in
 *     mode I, whose conversion clips at 255 instead;
 *   - tRNS is ignored: a colour key or palette alpha only sets alpha, which is dropped (pngjs turned
 *     colour-key pixels black, PIL keeps their colour);
 *   - a palette index past the PLTE entries reads (i, i, i), PIL's default palette.
 * Checked: the signature, every chunk's CRC-32 (PIL skips the image data's), chunk order, the header
 * fields, the filter types and the amount of image data. Unknown ancillary chunks are skipped.
 */
import { decompress } from './gzip.js';
import type { RawImage } from './preprocess.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Samples per pixel and the allowed bit depths of each colour type. */
const COLOR_TYPES: Record<number, { samples: number; depths: number[] }> = {
  0: { samples: 1, depths: [1, 2, 4, 8, 16] },
  2: { samples: 3, depths: [8, 16] },
  3: { samples: 1, depths: [1, 2, 4, 8] },
  4: { samples: 2, depths: [8, 16] },
  6: { samples: 4, depths: [8, 16] },
};

/** Adam7 passes as [x0, y0, dx, dy]: pixel (x0 + i·dx, y0 + j·dy) of the image. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

interface Header {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlaced: boolean;
}

interface Pass {
  x0: number;
  y0: number;
  dx: number;
  dy: number;
  /** Pixels per row and rows of the pass's sub-image (0 for a pass an image is too small for). */
  width: number;
  height: number;
  /** Bytes per row without the filter-type byte. */
  rowBytes: number;
}

const CRC_TABLE = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC_TABLE[n] = c >>> 0;
}

/** CRC-32 as PNG defines it (src/io/crc32.ts has the same, but data sits below io). */
function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** Decodes a PNG file. Throws a plain Error on malformed data; callers add the file name. */
export async function decodePng(bytes: Uint8Array): Promise<RawImage> {
  const { header, palette, idat } = readChunks(bytes);
  const { samples } = COLOR_TYPES[header.colorType];
  const passes = (header.interlaced ? ADAM7 : [[0, 0, 1, 1]]).map(([x0, y0, dx, dy]): Pass => {
    const width = header.width > x0 ? Math.ceil((header.width - x0) / dx) : 0;
    const height = header.height > y0 ? Math.ceil((header.height - y0) / dy) : 0;
    return { x0, y0, dx, dy, width, height, rowBytes: Math.ceil((width * samples * header.depth) / 8) };
  });
  // An empty pass has no rows, not even filter-type bytes.
  const expected = passes.reduce((n, p) => n + (p.width === 0 ? 0 : p.height * (1 + p.rowBytes)), 0);
  // Data past what the header needs is ignored, as PIL and pngjs do; far more is refused unread.
  const raw = await decompress(idat, 'deflate', 2 * expected);
  if (raw.length < expected) throw new Error(`image data is truncated (${raw.length} of ${expected} bytes)`);

  const channels = header.colorType === 0 || header.colorType === 4 ? 1 : 3;
  const out = new Uint8Array(header.width * header.height * channels);
  const bpp = Math.max(1, (samples * header.depth) / 8);
  let at = 0;
  for (const [p, pass] of passes.entries()) {
    if (pass.width === 0) continue;
    unfilter(raw, at, pass, bpp, header.interlaced ? ` of pass ${p + 1}` : '');
    const rowSamples = new Uint8Array(pass.width * samples);
    for (let y = 0; y < pass.height; y++, at += 1 + pass.rowBytes) {
      readSamples(raw, at + 1, header, rowSamples);
      for (let x = 0; x < pass.width; x++) {
        const o = ((pass.y0 + y * pass.dy) * header.width + pass.x0 + x * pass.dx) * channels;
        if (palette) {
          const i = rowSamples[x] * 3;
          out[o] = palette[i];
          out[o + 1] = palette[i + 1];
          out[o + 2] = palette[i + 2];
        } else {
          // Grey or RGB come first in a pixel's samples; alpha, if any, last.
          for (let c = 0; c < channels; c++) out[o + c] = rowSamples[x * samples + c];
        }
      }
    }
  }
  return { width: header.width, height: header.height, channels, data: out };
}

/** The header, the palette (colour type 3 only, 256 entries) and the concatenated IDAT data. */
function readChunks(bytes: Uint8Array): { header: Header; palette: Uint8Array | null; idat: Uint8Array } {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) throw new Error('not a PNG file (bad signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let header: Header | null = null;
  let plte: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  let idatDone = false;
  for (let pos = 8; ; ) {
    if (pos + 12 > bytes.length) throw new Error('file is truncated (no IEND chunk)');
    const length = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    const name = /^[A-Za-z]{4}$/.test(type) ? `${type} chunk` : 'chunk with a malformed type';
    if (pos + 12 + length > bytes.length) throw new Error(`file is truncated in the ${name}`);
    const data = bytes.subarray(pos + 8, pos + 8 + length);
    if (crc32(bytes.subarray(pos + 4, pos + 8 + length)) !== view.getUint32(pos + 8 + length)) throw new Error(`CRC mismatch in the ${name}`);
    pos += 12 + length;

    if (header === null && type !== 'IHDR') throw new Error(`first chunk is the ${name}, not IHDR`);
    if (idat.length > 0 && type !== 'IDAT') idatDone = true;
    if (type === 'IHDR') {
      if (header !== null) throw new Error('more than one IHDR chunk');
      header = readHeader(data);
    } else if (type === 'PLTE') {
      if (length === 0 || length > 768 || length % 3 !== 0) throw new Error(`PLTE chunk of ${length} bytes is not 1 to 256 RGB entries`);
      plte = data;
    } else if (type === 'IDAT') {
      if (idatDone) throw new Error('IDAT chunks are not consecutive');
      idat.push(data);
    } else if (type === 'IEND') {
      if (idat.length === 0) throw new Error('no IDAT chunk');
      break;
    }
  }
  const h = header as Header;
  let palette: Uint8Array | null = null;
  if (h.colorType === 3) {
    if (!plte) throw new Error('palette image without a PLTE chunk');
    palette = new Uint8Array(768);
    for (let i = 0; i < 256; i++) palette.fill(i, 3 * i, 3 * i + 3);
    palette.set(plte);
  }
  const all = new Uint8Array(idat.reduce((n, d) => n + d.length, 0));
  let at = 0;
  for (const d of idat) {
    all.set(d, at);
    at += d.length;
  }
  return { header: h, palette, idat: all };
}

function readHeader(data: Uint8Array): Header {
  if (data.length !== 13) throw new Error(`IHDR chunk has ${data.length} bytes, not 13`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const [width, height] = [view.getUint32(0), view.getUint32(4)];
  const [depth, colorType, compression, filter, interlace] = data.subarray(8);
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) throw new Error(`image size ${width}x${height} is invalid`);
  const type = COLOR_TYPES[colorType];
  if (!type) throw new Error(`unknown colour type ${colorType}`);
  if (!type.depths.includes(depth)) throw new Error(`bit depth ${depth} is not allowed for colour type ${colorType}`);
  if (compression !== 0) throw new Error(`unknown compression method ${compression}`);
  if (filter !== 0) throw new Error(`unknown filter method ${filter}`);
  if (interlace > 1) throw new Error(`unknown interlace method ${interlace}`);
  return { width, height, depth, colorType, interlaced: interlace === 1 };
}

/** Undoes the filters of one pass's rows in place; a row's predictor bytes come from the row above in the same pass. */
function unfilter(raw: Uint8Array, start: number, pass: Pass, bpp: number, where: string): void {
  const n = pass.rowBytes;
  for (let y = 0; y < pass.height; y++) {
    const row = start + y * (n + 1) + 1;
    const up = y > 0 ? row - (n + 1) : -1;
    const filter = raw[row - 1];
    // Uint8Array stores modulo 256, which is the specification's arithmetic.
    switch (filter) {
      case 0:
        break;
      case 1:
        for (let i = bpp; i < n; i++) raw[row + i] += raw[row + i - bpp];
        break;
      case 2:
        if (up >= 0) for (let i = 0; i < n; i++) raw[row + i] += raw[up + i];
        break;
      case 3:
        for (let i = 0; i < n; i++) {
          const a = i >= bpp ? raw[row + i - bpp] : 0;
          const b = up >= 0 ? raw[up + i] : 0;
          raw[row + i] += (a + b) >> 1;
        }
        break;
      case 4:
        for (let i = 0; i < n; i++) {
          const a = i >= bpp ? raw[row + i - bpp] : 0;
          const b = up >= 0 ? raw[up + i] : 0;
          const c = i >= bpp && up >= 0 ? raw[up + i - bpp] : 0;
          const pa = Math.abs(b - c);
          const pb = Math.abs(a - c);
          const pc = Math.abs(a + b - 2 * c);
          raw[row + i] += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        }
        break;
      default:
        throw new Error(`unknown filter type ${filter} in row ${y}${where}`);
    }
  }
}

/**
 * The samples of one unfiltered row as 8-bit values (see the header comment), palette indices
 * left as they are.
 */
function readSamples(raw: Uint8Array, row: number, header: Header, out: Uint8Array): void {
  const { depth, colorType } = header;
  if (depth === 8) {
    out.set(raw.subarray(row, row + out.length));
  } else if (depth === 16) {
    for (let i = 0; i < out.length; i++) {
      const high = raw[row + 2 * i];
      // Mode I (16-bit grey) clips to 255 where the ;16B modes take the high byte.
      out[i] = colorType !== 0 ? high : high === 0 ? raw[row + 2 * i + 1] : 255;
    }
  } else {
    const mask = (1 << depth) - 1;
    const scale = colorType === 0 ? 255 / mask : 1;
    for (let i = 0; i < out.length; i++) {
      const bit = i * depth;
      out[i] = ((raw[row + (bit >> 3)] >> (8 - depth - (bit & 7))) & mask) * scale;
    }
  }
}
