/**
 * Image dimensions read from the file header, checked before decoding: a small file can claim a
 * huge image (a 388 KB PNG of 20000x20000 makes pngjs allocate 2.8 GB). Pure, for the browser too.
 */
import { FimaqError } from '../util/errors.js';

/** PIL's default Image.MAX_IMAGE_PIXELS (1024 * 1024 * 1024 / 4 / 3), the decompression-bomb limit. */
export const MAX_IMAGE_PIXELS = 89_478_485;

export interface ImageSize {
  width: number;
  height: number;
}

/**
 * Width and height from a PNG's IHDR chunk, which the format requires to come first, right after
 * the 8-byte signature. Throws a plain Error on a malformed header; callers add the file name.
 */
export function pngSize(bytes: Uint8Array): ImageSize {
  if (bytes.length < 24 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') throw new Error('no IHDR chunk after the signature');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** Refuses an empty image and one above MAX_IMAGE_PIXELS, before anything is allocated for it. */
export function checkImageSize({ width, height }: ImageSize, path: string): void {
  if (width === 0 || height === 0) throw new FimaqError(`${path}: image is ${width}x${height}, which has no pixels`);
  const pixels = width * height;
  if (pixels > MAX_IMAGE_PIXELS) {
    throw new FimaqError(`${path}: image is ${width}x${height} = ${pixels} pixels, above the limit of ${MAX_IMAGE_PIXELS} (PIL's MAX_IMAGE_PIXELS)`);
  }
}
