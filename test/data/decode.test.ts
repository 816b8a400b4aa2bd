/**
 * decodeImage's size limit: the header's dimensions are checked before the decoder runs, so a
 * small file claiming a huge image is refused without the allocation it would cause.
 */
import { PNG } from 'pngjs';
import { decode as jpegDecode, encode as jpegEncode } from 'jpeg-js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeImage } from '../../src/data/decode.js';
import { MAX_IMAGE_PIXELS } from '../../src/data/image-size.js';
import { decodePng } from '../../src/data/png.js';
import { crc32 } from '../../src/io/crc32.js';
import { FimaqError } from '../../src/util/errors.js';

// Wraps the JPEG and PNG decoders in spies, to show that a refused file never reaches them.
vi.mock('jpeg-js', async (importOriginal) => {
  const mod = await importOriginal<typeof import('jpeg-js')>();
  return { ...mod, decode: vi.fn(mod.decode) };
});
vi.mock('../../src/data/png.js', async (importOriginal) => {
  const mod = await importOriginal<typeof import('../../src/data/png.js')>();
  return { ...mod, decodePng: vi.fn(mod.decodePng) };
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.mocked(jpegDecode).mockClear();
  vi.mocked(decodePng).mockClear();
});

async function errorOf(result: Promise<unknown>): Promise<string> {
  try {
    await result;
  } catch (e) {
    expect(e).toBeInstanceOf(FimaqError);
    return (e as FimaqError).message;
  }
  throw new Error('expected an error');
}

/** A valid 4x3 grey PNG from pngjs. */
function smallPng(): Uint8Array {
  const png = new PNG({ width: 4, height: 3, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  png.data = Buffer.from(Array.from({ length: 12 }, (_, i) => i * 20));
  return Uint8Array.from(PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false }));
}

/** `png` with the IHDR size replaced and the chunk's CRC (over type and data) made valid again. */
function withPngSize(png: Uint8Array, width: number, height: number): Uint8Array {
  const out = png.slice();
  const view = new DataView(out.buffer);
  view.setUint32(16, width);
  view.setUint32(20, height);
  view.setUint32(29, crc32(out.subarray(12, 29)));
  return out;
}

/** A valid 16x8 JPEG from jpeg-js. */
function smallJpeg(): Uint8Array {
  const data = Buffer.alloc(16 * 8 * 4, 128);
  return Uint8Array.from(jpegEncode({ width: 16, height: 8, data }, 90).data);
}

/** Offset of the baseline frame header's FF C0 marker. */
function sofAt(jpeg: Uint8Array): number {
  for (let i = 2; i + 1 < jpeg.length; i++) if (jpeg[i] === 0xff && jpeg[i + 1] === 0xc0) return i;
  throw new Error('no SOF0');
}

/** `jpeg` with the frame header's height and width replaced. */
function withJpegSize(jpeg: Uint8Array, width: number, height: number): Uint8Array {
  const out = jpeg.slice();
  const view = new DataView(out.buffer);
  view.setUint16(sofAt(out) + 5, height);
  view.setUint16(sofAt(out) + 7, width);
  return out;
}

describe('decodeImage pixel limit', () => {
  it("is PIL's MAX_IMAGE_PIXELS", () => {
    expect(MAX_IMAGE_PIXELS).toBe(Math.floor((1024 * 1024 * 1024) / 4 / 3));
  });

  it('decodes the small files the tests patch', async () => {
    expect(await decodeImage(withPngSize(smallPng(), 4, 3), 'small.png')).toMatchObject({ width: 4, height: 3, channels: 1 });
    expect(await decodeImage(withJpegSize(smallJpeg(), 16, 8), 'small.jpg')).toMatchObject({ width: 16, height: 8, channels: 3 });
  });

  it('refuses a PNG whose header claims 20000x20000 without decoding it', async () => {
    const bomb = withPngSize(smallPng(), 20000, 20000);
    expect(bomb.length).toBeLessThan(100);
    expect(await errorOf(decodeImage(bomb, 'bomb.png'))).toBe(
      "bomb.png: image is 20000x20000 = 400000000 pixels, above the limit of 89478485 (PIL's MAX_IMAGE_PIXELS)",
    );
    expect(decodePng).not.toHaveBeenCalled();
  });

  it('refuses a JPEG whose frame header claims 30000x30000 without decoding it', async () => {
    const bomb = withJpegSize(smallJpeg(), 30000, 30000);
    expect(await errorOf(decodeImage(bomb, 'bomb.jpg'))).toBe(
      "bomb.jpg: image is 30000x30000 = 900000000 pixels, above the limit of 89478485 (PIL's MAX_IMAGE_PIXELS)",
    );
    expect(jpegDecode).not.toHaveBeenCalled();
  });

  it('accepts the limit itself and refuses one pixel more', async () => {
    // 9451 x 9467 = 89472617 <= limit; 9452 x 9467 = 89482084 > limit.
    vi.mocked(decodePng).mockRejectedValueOnce(new Error('decoder reached'));
    expect(await errorOf(decodeImage(withPngSize(smallPng(), 9451, 9467), 'ok.png'))).toBe('ok.png: corrupt or unsupported PNG file (decoder reached)');
    expect(await errorOf(decodeImage(withPngSize(smallPng(), 9452, 9467), 'big.png'))).toContain('9452x9467 = 89482084 pixels, above the limit');
    expect(decodePng).toHaveBeenCalledTimes(1);
  });

  it('refuses a zero width or height', async () => {
    expect(await errorOf(decodeImage(withPngSize(smallPng(), 0, 3), 'empty.png'))).toBe('empty.png: image is 0x3, which has no pixels');
    expect(await errorOf(decodeImage(withJpegSize(smallJpeg(), 16, 0), 'empty.jpg'))).toBe('empty.jpg: image is 16x0, which has no pixels');
    expect(jpegDecode).not.toHaveBeenCalled();
    expect(decodePng).not.toHaveBeenCalled();
  });

  it('refuses a JPEG with a second frame header, whose size would go unchecked', async () => {
    const jpeg = smallJpeg();
    const at = sofAt(jpeg);
    const sofLen = (jpeg[at + 2]! << 8) | jpeg[at + 3]!;
    const sof = withJpegSize(jpeg, 30000, 30000).subarray(at, at + 2 + sofLen);
    const twice = new Uint8Array([...jpeg.subarray(0, at + 2 + sofLen), ...sof, ...jpeg.subarray(at + 2 + sofLen)]);
    expect(await errorOf(decodeImage(twice, 'two.jpg'))).toBe('two.jpg: corrupt or unsupported JPEG file (more than one frame header)');
  });

  it('names the file when the PNG header is cut short', async () => {
    expect(await errorOf(decodeImage(smallPng().subarray(0, 20), 'cut.png'))).toBe(
      'cut.png: corrupt or unsupported PNG file (no IHDR chunk after the signature)',
    );
  });
});
