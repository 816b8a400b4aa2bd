/**
 * Image file decoding for the Node loaders: JPEG (see jpeg.ts) and PNG (pngjs), picked by the
 * file's signature rather than its extension (ImageNet has PNGs named .JPEG).
 */
import { PNG } from 'pngjs';
import { FimaqError } from '../util/errors.js';
import { checkImageSize, pngSize } from './image-size.js';
import { decodeJpeg, jpegSize } from './jpeg.js';
import type { RawImage } from './preprocess.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Decodes a JPEG or PNG file's bytes; `path` is only used in error messages. The size in the header
 * is checked first (checkImageSize), so a decompression bomb is refused before any allocation.
 */
export function decodeImage(bytes: Uint8Array, path: string): RawImage {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    checkImageSize(withFileName(path, 'JPEG', () => jpegSize(bytes)), path);
    return withFileName(path, 'JPEG', () => decodeJpeg(bytes));
  }
  if (PNG_SIGNATURE.every((b, i) => bytes[i] === b)) {
    checkImageSize(withFileName(path, 'PNG', () => pngSize(bytes)), path);
    return withFileName(path, 'PNG', () => decodePng(bytes));
  }
  throw new FimaqError(`${path}: not a JPEG or PNG file`);
}

function withFileName<T>(path: string, format: string, decode: () => T): T {
  try {
    return decode();
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').trim();
    throw new FimaqError(`${path}: corrupt or unsupported ${format} file (${reason})`);
  }
}

/**
 * pngjs always expands to 8-bit RGBA. Grey(+alpha) files become 1-channel images and alpha is
 * dropped, as PIL's convert('RGB') / convert('L') would. Known differences from PIL: 16-bit samples
 * are rounded to 8 bits (PIL truncates), and pixels matching a tRNS colour key come back black.
 */
function decodePng(bytes: Uint8Array): RawImage {
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const { width, height, data } = png;
  const grey = png.colorType === 0 || png.colorType === 4;
  const channels = grey ? 1 : 3;
  const out = new Uint8Array(width * height * channels);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < channels; c++) out[i * channels + c] = data[4 * i + c];
  }
  return { width, height, channels, data: out };
}
