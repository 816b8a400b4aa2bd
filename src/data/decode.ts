/**
 * Image file decoding: JPEG (jpeg.ts) and PNG (png.ts), picked by the file's signature rather than
 * its extension (ImageNet has PNGs named .JPEG). Pure (no Node APIs), so the CLI and the browser
 * decode the same bytes to the same pixels.
 */
import { FimaqError } from '../util/errors.js';
import { checkImageSize, pngSize } from './image-size.js';
import { decodeJpeg, jpegSize } from './jpeg.js';
import { decodePng } from './png.js';
import type { RawImage } from './preprocess.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Decodes a JPEG or PNG file's bytes; `path` is only used in error messages. The size in the header
 * is checked first (checkImageSize), so a decompression bomb is refused before any allocation.
 */
export async function decodeImage(bytes: Uint8Array, path: string): Promise<RawImage> {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    checkImageSize(await withFileName(path, 'JPEG', () => jpegSize(bytes)), path);
    return withFileName(path, 'JPEG', () => decodeJpeg(bytes));
  }
  if (PNG_SIGNATURE.every((b, i) => bytes[i] === b)) {
    checkImageSize(await withFileName(path, 'PNG', () => pngSize(bytes)), path);
    return withFileName(path, 'PNG', () => decodePng(bytes));
  }
  throw new FimaqError(`${path}: not a JPEG or PNG file`);
}

async function withFileName<T>(path: string, format: string, decode: () => T | Promise<T>): Promise<T> {
  try {
    return await decode();
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').trim();
    throw new FimaqError(`${path}: corrupt or unsupported ${format} file (${reason})`);
  }
}
