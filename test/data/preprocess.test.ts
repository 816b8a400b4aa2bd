/**
 * preprocess() against PIL + numpy (fixture from tools/make_preprocess_fixture.py).
 *
 * PNG cases: we mimic PIL's fixed-point resampler and torch's float32 normalisation exactly, so
 * every value must be bit-identical; the tolerance the contract allows is one uint8 level,
 * i.e. 1 / (255 * std[c]) in normalised units.
 * JPEG case: jpeg-js's inverse DCT differs from libjpeg's by up to a few levels on some pixels
 * (see src/data/jpeg.ts), so it gets a 3-level tolerance and a floor on the exact fraction.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/data/decode.js';
import { preprocess, resize, rgbToL, validatePreprocessConfig, type PreprocessConfig, type RawImage } from '../../src/data/preprocess.js';
import { FimaqError } from '../../src/util/errors.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'preprocess');

interface Case {
  image: string;
  config: string;
  offset: number;
  length: number;
}
const { configs, cases } = JSON.parse(readFileSync(join(FIXTURES, 'cases.json'), 'utf8')) as {
  configs: Record<string, PreprocessConfig>;
  cases: Case[];
};
const gz = gunzipSync(readFileSync(join(FIXTURES, 'expected.bin.gz')));
const expected = new Float32Array(gz.buffer, gz.byteOffset, gz.byteLength / 4);

const summary: string[] = [];
afterAll(() => console.info(`preprocess vs PIL, fraction of bit-identical values:\n  ${summary.join('\n  ')}`));

describe('preprocess matches PIL + torchvision', () => {
  it.each(cases)('$image with $config', async ({ image, config, offset, length }) => {
    const cfg = configs[config];
    const img = await decodeImage(readFileSync(join(FIXTURES, image)), image);
    const got = preprocess(img, cfg);
    expect(got.length).toBe(length);
    const want = expected.subarray(offset, offset + length);

    const [c, h, w] = cfg.inputSize;
    const levels = image.endsWith('.jpg') ? 3 : 1;
    let equal = 0;
    let worst = 0; // in uint8 levels
    for (let ch = 0; ch < c; ch++) {
      const level = 1 / (255 * cfg.std[ch]);
      for (let i = ch * h * w; i < (ch + 1) * h * w; i++) {
        if (got[i] === want[i]) equal++;
        worst = Math.max(worst, Math.abs(got[i] - want[i]) / level);
      }
    }
    const fraction = equal / length;
    summary.push(`${image} ${config}: ${fraction.toFixed(4)} (max ${worst.toFixed(2)} levels)`);
    expect(worst).toBeLessThanOrEqual(levels + 1e-3);
    if (image.endsWith('.png')) expect(fraction).toBe(1);
    else expect(fraction).toBeGreaterThan(0.8);
  });
});

const gradient = (width: number, height: number): RawImage => {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = x;
  return { width, height, channels: 1, data };
};

describe('preprocess details', () => {
  const base: PreprocessConfig = { inputSize: [1, 32, 32], mean: [0], std: [1], interpolation: 'bilinear', cropPct: 1 };

  it('centre-crops with Python rounding (ties to even)', () => {
    // 53x32 needs no resize; left = round((53 - 32) / 2) = round(10.5) = 10 in Python.
    const out = preprocess(gradient(53, 32), base);
    expect(out[0] * 255).toBeCloseTo(10, 4);
  });

  it('leaves an image of the target size untouched', () => {
    const img = gradient(32, 32);
    expect(Array.from(preprocess(img, base), (v) => Math.round(v * 255))).toEqual(Array.from(img.data));
    expect(resize(img, 32, 32, 'bicubic')).toBe(img);
  });

  it("converts RGB to L with PIL's rounding", () => {
    const rgb: RawImage = { width: 3, height: 1, channels: 3, data: Uint8Array.from([255, 0, 0, 0, 255, 0, 10, 200, 30]) };
    // Values from PIL: Image.frombytes('RGB', (3, 1), ...).convert('L').
    expect(Array.from(rgbToL(rgb).data)).toEqual([76, 150, 124]);
  });

  it('replicates a grey image into three channels', () => {
    const cfg: PreprocessConfig = { ...base, inputSize: [3, 32, 32], mean: [0, 0, 0], std: [1, 1, 1] };
    const out = preprocess(gradient(32, 32), cfg);
    const plane = 32 * 32;
    expect(out.subarray(plane, 2 * plane)).toEqual(out.subarray(0, plane));
    expect(out.subarray(2 * plane)).toEqual(out.subarray(0, plane));
  });

  it.each([
    [{ mean: [0, 0] }, 'mean has 2 values but the input has 1 channels'],
    [{ std: [0] }, 'std [0] must be finite and non-zero'],
    [{ cropPct: 0 }, 'crop_pct 0 must be in (0, 1]'],
    [{ cropPct: 1.5 }, 'crop_pct 1.5 must be in (0, 1]'],
    [{ inputSize: [1, 32, 16] }, 'input size 32x16 is not square'],
    [{ inputSize: [2, 32, 32], mean: [0, 0], std: [1, 1] }, 'input has 2 channels'],
  ] as [Partial<PreprocessConfig>, string][])('rejects %j', (patch, message) => {
    const cfg = { ...base, ...patch };
    expect(() => validatePreprocessConfig(cfg, 'model.json')).toThrow(FimaqError);
    expect(() => validatePreprocessConfig(cfg, 'model.json')).toThrow(`model.json: ${message}`);
  });
});

describe('decodeImage', () => {
  it('names the file when a JPEG is truncated', async () => {
    const bytes = readFileSync(join(FIXTURES, 'rgb300x200.jpg'));
    await expect(decodeImage(bytes.subarray(0, bytes.length >> 1), 'cut.jpg')).rejects.toThrow(/^cut\.jpg: corrupt or unsupported JPEG file \(truncated/);
  });

  it('names the file when a PNG is corrupt', async () => {
    const bytes = Uint8Array.from(readFileSync(join(FIXTURES, 'rgb37x23.png')));
    bytes.fill(7, 40, 80);
    await expect(decodeImage(bytes, 'bad.png')).rejects.toThrow(/^bad\.png: corrupt or unsupported PNG file \(/);
  });

  it('rejects other formats', async () => {
    await expect(decodeImage(new TextEncoder().encode('GIF89a....'), 'x.gif')).rejects.toThrow('x.gif: not a JPEG or PNG file');
  });
});
