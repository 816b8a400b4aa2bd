/**
 * JPEG decoding that follows libjpeg(-turbo), the decoder behind PIL, as closely as jpeg-js allows.
 *
 * jpeg-js does the entropy decoding and the inverse DCT. Its own colour stage differs from
 * libjpeg's in two ways that matter for accuracy: it upsamples chroma by pixel replication where
 * libjpeg uses "fancy" triangle upsampling, and its YCbCr -> RGB conversion truncates (a bias of
 * half a level on every pixel). So we ask jpeg-js for the raw components and redo that stage as
 * libjpeg's jdsample.c / jdcolor.c do. What remains is jpeg-js's IDCT, which differs from
 * libjpeg's islow IDCT by a level or two on some pixels.
 *
 * Pure JS (no Node APIs): usable in the browser too.
 */
import { decode } from 'jpeg-js';
import type { RawImage } from './preprocess.js';

interface Component {
  h: number;
  v: number;
}

interface JpegHeader {
  /** From the frame header (SOFn). */
  width: number;
  height: number;
  components: Component[];
  componentIds: number[];
  sawJfif: boolean;
  /** Offset of the APP14 'Adobe' transform byte, or -1 without that marker. */
  adobeTransformAt: number;
}

/** Width and height from the frame header, without decoding. Throws a plain Error like decodeJpeg. */
export function jpegSize(bytes: Uint8Array): { width: number; height: number } {
  const { width, height } = readHeader(bytes);
  return { width, height };
}

/** Decodes a baseline or progressive JPEG. Throws a plain Error on corrupt input; callers add the file name. */
export function decodeJpeg(bytes: Uint8Array): RawImage {
  const header = readHeader(bytes);
  const n = header.components.length;
  if (n !== 1 && n !== 3) {
    // CMYK / YCCK: jpeg-js's own conversion (PIL would return a CMYK image and convert it differently).
    const img = decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false });
    return { width: img.width, height: img.height, channels: 3, data: img.data };
  }

  // jpeg-js forces its colour transform whenever an Adobe marker asks for one; neutralise the
  // marker in a copy so it hands back the raw components and we do the transform ourselves.
  let input = bytes;
  const adobeTransform = header.adobeTransformAt >= 0 ? bytes[header.adobeTransformAt] : -1;
  if (adobeTransform > 0) {
    input = bytes.slice();
    input[header.adobeTransformAt] = 0;
  }
  const raw = decode(input, { useTArray: true, formatAsRGBA: false, colorTransform: false, tolerantDecoding: false });
  const { width, height } = raw;

  if (n === 1) {
    // jpeg-js replicates grey into three channels.
    const data = new Uint8Array(width * height);
    for (let i = 0; i < data.length; i++) data[i] = raw.data[3 * i];
    return { width, height, channels: 1, data };
  }

  const maxH = Math.max(...header.components.map((c) => c.h));
  const maxV = Math.max(...header.components.map((c) => c.v));
  const planes = header.components.map((c, i) => upsample(raw.data, i, width, height, maxH / c.h, maxV / c.v));
  const data = new Uint8Array(width * height * 3);
  if (isYCbCr(header, adobeTransform)) {
    yccToRgb(planes, data);
  } else {
    for (let i = 0; i < width * height; i++) {
      data[3 * i] = planes[0][i];
      data[3 * i + 1] = planes[1][i];
      data[3 * i + 2] = planes[2][i];
    }
  }
  return { width, height, channels: 3, data };
}

/** libjpeg's default_decompress_parms: which 3-component files hold YCbCr rather than RGB. */
function isYCbCr(header: JpegHeader, adobeTransform: number): boolean {
  if (header.sawJfif) return true;
  if (adobeTransform >= 0) return adobeTransform !== 0;
  const [a, b, c] = header.componentIds;
  return !(a === 0x52 && b === 0x47 && c === 0x42); // 'R', 'G', 'B'
}

/** Reads the markers up to the first scan: size, sampling factors, component ids, JFIF and Adobe markers. */
function readHeader(bytes: Uint8Array): JpegHeader {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) throw new Error('no JPEG start-of-image marker');
  const header: JpegHeader = { width: 0, height: 0, components: [], componentIds: [], sawJfif: false, adobeTransformAt: -1 };
  let pos = 2;
  for (;;) {
    if (pos + 4 > bytes.length) throw new Error('truncated before the first scan');
    if (bytes[pos] !== 0xff) throw new Error(`expected a marker at byte ${pos}`);
    const marker = bytes[pos + 1];
    if (marker === 0xff) {
      pos++; // fill byte
      continue;
    }
    const len = (bytes[pos + 2] << 8) | bytes[pos + 3];
    const seg = pos + 4;
    if (seg + len - 2 > bytes.length) throw new Error(`truncated marker segment at byte ${pos}`);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      // jpeg-js refuses a second frame too, but only after allocating for both; and the size that
      // decodeImage checks must be the one decoded.
      if (header.components.length > 0) throw new Error('more than one frame header');
      header.height = (bytes[seg + 1] << 8) | bytes[seg + 2];
      header.width = (bytes[seg + 3] << 8) | bytes[seg + 4];
      const count = bytes[seg + 5];
      for (let i = 0; i < count; i++) {
        header.componentIds.push(bytes[seg + 6 + 3 * i]);
        const hv = bytes[seg + 7 + 3 * i];
        header.components.push({ h: hv >> 4, v: hv & 15 });
      }
    } else if (marker === 0xe0 && len >= 7 && ascii(bytes, seg, 5) === 'JFIF\0') {
      header.sawJfif = true;
    } else if (marker === 0xee && len >= 14 && ascii(bytes, seg, 6) === 'Adobe\0') {
      header.adobeTransformAt = seg + 11;
    } else if (marker === 0xda) {
      break;
    }
    pos += 2 + len;
  }
  if (header.components.length === 0) throw new Error('no frame header before the first scan');
  if (header.components.some((c) => c.h < 1 || c.v < 1)) throw new Error('invalid sampling factors');
  // Entropy-coded data never contains FF D9, so its absence after the scan means a cut-off file
  // (PIL refuses those too: "image file is truncated").
  if (!hasEndMarker(bytes, pos)) throw new Error('truncated: no end-of-image marker');
  return header;
}

function ascii(bytes: Uint8Array, at: number, n: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + n));
}

function hasEndMarker(bytes: Uint8Array, from: number): boolean {
  for (let i = bytes.length - 2; i >= from; i--) {
    if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return true;
  }
  return false;
}

/**
 * Full-resolution plane of component `ci` from jpeg-js's interleaved output, upsampled as libjpeg
 * does. jpeg-js replicated each subsampled sample, so the subsampled plane is every sx-th / sy-th
 * value. libjpeg replicates too except for 2x ratios, where it uses the fancy filters below.
 */
function upsample(raw: Uint8Array, ci: number, width: number, height: number, sx: number, sy: number): Uint8Array {
  const full = new Uint8Array(width * height);
  for (let i = 0; i < full.length; i++) full[i] = raw[3 * i + ci];
  const dw = Math.ceil(width / sx);
  const dh = Math.ceil(height / sy);
  const at = (x: number, y: number): number => full[y * sy * width + x * sx];
  if (sx === 2 && sy === 2 && dw > 2) return fancyH2V2(at, dw, dh, width, height);
  if (sx === 2 && sy === 1 && dw > 2) return fancyH2V1(at, dw, width, height);
  if (sx === 1 && sy === 2) return fancyH1V2(at, dh, width, height);
  return full;
}

type Sampler = (x: number, y: number) => number;

// jdsample.c h2v2_fancy_upsample: 9/16, 3/16, 3/16, 1/16 weights with alternating rounding bias.
// Rows beyond the image edge repeat the edge row (libjpeg's context rows do the same).
function fancyH2V2(at: Sampler, dw: number, dh: number, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const colsum = new Int32Array(dw);
  for (let y = 0; y < height; y++) {
    const near = y >> 1;
    const far = y & 1 ? Math.min(near + 1, dh - 1) : Math.max(near - 1, 0);
    for (let i = 0; i < dw; i++) colsum[i] = at(i, near) * 3 + at(i, far);
    const row = new Uint8Array(2 * dw);
    row[0] = (colsum[0] * 4 + 8) >> 4;
    row[1] = (colsum[0] * 3 + colsum[1] + 7) >> 4;
    for (let i = 1; i < dw - 1; i++) {
      row[2 * i] = (colsum[i] * 3 + colsum[i - 1] + 8) >> 4;
      row[2 * i + 1] = (colsum[i] * 3 + colsum[i + 1] + 7) >> 4;
    }
    const last = dw - 1;
    row[2 * last] = (colsum[last] * 3 + colsum[last - 1] + 8) >> 4;
    row[2 * last + 1] = (colsum[last] * 4 + 7) >> 4;
    out.set(row.subarray(0, width), y * width);
  }
  return out;
}

// jdsample.c h2v1_fancy_upsample: 3/4 nearer + 1/4 further sample, horizontally only.
function fancyH2V1(at: Sampler, dw: number, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const row = new Uint8Array(2 * dw);
  for (let y = 0; y < height; y++) {
    row[0] = at(0, y);
    row[1] = (at(0, y) * 3 + at(1, y) + 2) >> 2;
    for (let i = 1; i < dw - 1; i++) {
      row[2 * i] = (at(i, y) * 3 + at(i - 1, y) + 1) >> 2;
      row[2 * i + 1] = (at(i, y) * 3 + at(i + 1, y) + 2) >> 2;
    }
    const last = dw - 1;
    row[2 * last] = (at(last, y) * 3 + at(last - 1, y) + 1) >> 2;
    row[2 * last + 1] = at(last, y);
    out.set(row.subarray(0, width), y * width);
  }
  return out;
}

// jdsample.c h1v2_fancy_upsample: 3/4 nearer + 1/4 further row.
function fancyH1V2(at: Sampler, dh: number, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const near = y >> 1;
    const far = y & 1 ? Math.min(near + 1, dh - 1) : Math.max(near - 1, 0);
    const bias = y & 1 ? 2 : 1;
    for (let x = 0; x < width; x++) out[y * width + x] = (at(x, near) * 3 + at(x, far) + bias) >> 2;
  }
  return out;
}

// jdcolor.c build_ycc_rgb_table: 16-bit fixed point, rounded table entries.
const SCALE = 1 << 16;
const fix = (x: number): number => Math.trunc(x * SCALE + 0.5);
const CR_R = new Int32Array(256);
const CB_B = new Int32Array(256);
const CR_G = new Int32Array(256);
const CB_G = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = (fix(1.402) * x + SCALE / 2) >> 16;
  CB_B[i] = (fix(1.772) * x + SCALE / 2) >> 16;
  CR_G[i] = -fix(0.71414) * x;
  CB_G[i] = -fix(0.34414) * x + SCALE / 2;
}

function yccToRgb([yp, cbp, crp]: Uint8Array[], out: Uint8Array): void {
  const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);
  for (let i = 0; i < yp.length; i++) {
    const y = yp[i];
    const cb = cbp[i];
    const cr = crp[i];
    out[3 * i] = clamp(y + CR_R[cr]);
    out[3 * i + 1] = clamp(y + ((CB_G[cb] + CR_G[cr]) >> 16));
    out[3 * i + 2] = clamp(y + CB_B[cb]);
  }
}
