/**
 * timm's evaluation transform (`transforms_imagenet_eval`: Resize(shorter side) -> CenterCrop ->
 * ToTensor -> Normalize) reimplemented bit-for-bit on 8-bit images, so that Node and the browser
 * feed the model exactly what PyTorch + PIL would. No Node APIs here.
 *
 * Resampling follows Pillow's `Image.resize` for 8-bit bands (libImaging/Resample.c and the
 * nearest-neighbour affine path in Geometry.c): same filters, same coefficient rounding to
 * 22-bit fixed point, same horizontal-then-vertical order with a uint8 intermediate. Normalisation
 * is done step by step in float32, like torch. Results therefore match PIL + torchvision exactly
 * (checked against a PIL fixture in test/data/preprocess.test.ts).
 */
import { FimaqError } from '../util/errors.js';

export type Interpolation = 'bicubic' | 'bilinear' | 'nearest';

export interface PreprocessConfig {
  /** C, H, W of the model input. */
  inputSize: [number, number, number];
  mean: number[];
  std: number[];
  interpolation: Interpolation;
  cropPct: number;
}

export interface RawImage {
  width: number;
  height: number;
  channels: 1 | 3;
  /** HWC interleaved, row-major. */
  data: Uint8Array;
}

/** Throws a one-line FimaqError naming `source` (where the config came from) if cfg is unusable. */
export function validatePreprocessConfig(cfg: PreprocessConfig, source = 'preprocess config'): void {
  const [c, h, w] = cfg.inputSize;
  const bad = (problem: string): never => {
    throw new FimaqError(`${source}: ${problem}`);
  };
  if (cfg.inputSize.length !== 3 || !cfg.inputSize.every((v) => Number.isInteger(v) && v > 0)) {
    bad(`input size ${JSON.stringify(cfg.inputSize)} must be three positive integers [C, H, W]`);
  }
  if (c !== 1 && c !== 3) bad(`input has ${c} channels; only 1 or 3 are supported`);
  // timm takes a different path (ResizeKeepRatio) for non-square inputs; only the square one is implemented.
  if (h !== w) bad(`input size ${h}x${w} is not square; only square inputs are supported`);
  if (cfg.mean.length !== c) bad(`mean has ${cfg.mean.length} values but the input has ${c} channels`);
  if (cfg.std.length !== c) bad(`std has ${cfg.std.length} values but the input has ${c} channels`);
  if (!cfg.mean.every(Number.isFinite)) bad(`mean ${JSON.stringify(cfg.mean)} is not finite`);
  if (!cfg.std.every((s) => Number.isFinite(s) && s !== 0)) bad(`std ${JSON.stringify(cfg.std)} must be finite and non-zero`);
  if (!(cfg.cropPct > 0 && cfg.cropPct <= 1)) bad(`crop_pct ${cfg.cropPct} must be in (0, 1]`);
  if (!['bicubic', 'bilinear', 'nearest'].includes(cfg.interpolation)) {
    bad(`interpolation '${cfg.interpolation}' must be bicubic, bilinear or nearest`);
  }
}

/** Preprocesses one image into a new CHW float32 tensor. */
export function preprocess(img: RawImage, cfg: PreprocessConfig): Float32Array {
  const [c, h, w] = cfg.inputSize;
  const out = new Float32Array(c * h * w);
  preprocessInto(img, cfg, out, 0);
  return out;
}

/** Like `preprocess`, but writes the CHW tensor into `out` starting at `offset` (for batching). */
export function preprocessInto(img: RawImage, cfg: PreprocessConfig, out: Float32Array, offset: number): void {
  validatePreprocessConfig(cfg);
  checkImage(img);
  const [c, cropH, cropW] = cfg.inputSize;
  // Channel conversion first, as a loader's `img.convert('L')` would; grey -> RGB replication
  // commutes with resizing, so it is left to the normalisation loop.
  let src = c === 1 && img.channels === 3 ? rgbToL(img) : img;

  // Resize(floor(H / crop_pct)) on the shorter side, as torchvision's _compute_resized_output_size.
  const size = Math.floor(cropH / cfg.cropPct);
  const { width: iw, height: ih } = src;
  const [newW, newH] = iw <= ih ? [size, Math.trunc((size * ih) / iw)] : [Math.trunc((size * iw) / ih), size];
  if (newW !== iw || newH !== ih) src = resize(src, newW, newH, cfg.interpolation);

  // torchvision CenterCrop: int(round((h - crop_h) / 2)), Python rounding (half to even).
  // Never needs padding: the shorter side is floor(H / crop_pct) >= H.
  const top = roundHalfEven((src.height - cropH) / 2);
  const left = roundHalfEven((src.width - cropW) / 2);

  // ToTensor + Normalize in float32 steps: fround after each op equals torch's float32 arithmetic.
  const plane = cropH * cropW;
  for (let ch = 0; ch < c; ch++) {
    const mean = Math.fround(cfg.mean[ch]);
    const std = Math.fround(cfg.std[ch]);
    const srcCh = src.channels === 1 ? 0 : ch;
    for (let y = 0; y < cropH; y++) {
      const row = ((top + y) * src.width + left) * src.channels + srcCh;
      const o = offset + ch * plane + y * cropW;
      for (let x = 0; x < cropW; x++) {
        const v = Math.fround(src.data[row + x * src.channels] / 255);
        out[o + x] = Math.fround(v - mean) / std;
      }
    }
  }
}

function checkImage(img: RawImage): void {
  const { width, height, channels, data } = img;
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
    throw new FimaqError(`image has invalid size ${width}x${height}`);
  }
  if (channels !== 1 && channels !== 3) throw new FimaqError(`image has ${channels} channels; expected 1 or 3`);
  if (data.length !== width * height * channels) {
    throw new FimaqError(`image data has ${data.length} bytes; expected ${width}x${height}x${channels} = ${width * height * channels}`);
  }
}

/** Python's round(): ties go to the even neighbour. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** PIL's RGB -> L conversion (Convert.c rgb2l): ITU-R 601-2 luma in 16-bit fixed point. */
export function rgbToL(img: RawImage): RawImage {
  const n = img.width * img.height;
  const data = new Uint8Array(n);
  const s = img.data;
  for (let i = 0; i < n; i++) {
    data[i] = (s[3 * i] * 19595 + s[3 * i + 1] * 38470 + s[3 * i + 2] * 7471 + 0x8000) >>> 16;
  }
  return { width: img.width, height: img.height, channels: 1, data };
}

/** PIL `Image.resize(size, resample)` for an 8-bit L or RGB image (no box, no reducing_gap). */
export function resize(img: RawImage, width: number, height: number, interpolation: Interpolation): RawImage {
  if (width === img.width && height === img.height) return img;
  return interpolation === 'nearest' ? resizeNearest(img, width, height) : resizeFiltered(img, width, height, FILTERS[interpolation]);
}

interface Filter {
  support: number;
  weight: (x: number) => number;
}

// Resample.c's filters; bicubic uses a = -0.5.
const FILTERS: Record<'bicubic' | 'bilinear', Filter> = {
  bilinear: {
    support: 1,
    weight: (x) => {
      x = Math.abs(x);
      return x < 1 ? 1 - x : 0;
    },
  },
  bicubic: {
    support: 2,
    weight: (x) => {
      const a = -0.5;
      x = Math.abs(x);
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
};

const PRECISION_BITS = 22; // Resample.c: 32 - 8 - 2

interface Coeffs {
  ksize: number;
  /** Per output index: first input index and number of taps. */
  start: Int32Array;
  count: Int32Array;
  /** outSize x ksize fixed-point weights. */
  k: Int32Array;
}

/** Resample.c precompute_coeffs + normalize_coeffs_8bpc, operation for operation. */
function precomputeCoeffs(inSize: number, outSize: number, filter: Filter): Coeffs {
  const scale = inSize / outSize;
  // Downscaling widens the filter by the scale factor: this is PIL's antialiasing.
  const filterscale = Math.max(scale, 1);
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const k = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // (int) casts truncate toward zero in C.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const n = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < n; x++) {
      w[x] = filter.weight((x + xmin - center + 0.5) * ss);
      ww += w[x];
    }
    for (let x = 0; x < n; x++) {
      const v = (ww !== 0 ? w[x] / ww : w[x]) * (1 << PRECISION_BITS);
      k[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v) : Math.trunc(0.5 + v);
    }
    start[xx] = xmin;
    count[xx] = n;
  }
  return { ksize, start, count, k };
}

/** Resample.c clip8: drop the fraction (arithmetic shift floors) and clamp to 0..255. */
function clip8(acc: number): number {
  const v = acc >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** ImagingResampleInner: horizontal pass (only the rows the vertical pass reads), then vertical. */
function resizeFiltered(img: RawImage, outW: number, outH: number, filter: Filter): RawImage {
  const nc = img.channels;
  const half = 1 << (PRECISION_BITS - 1);
  const vert = precomputeCoeffs(img.height, outH, filter);
  let src = img;
  let rowShift = 0;

  if (outW !== img.width) {
    const hor = precomputeCoeffs(img.width, outW, filter);
    const yFirst = vert.start[0];
    const yLast = vert.start[outH - 1] + vert.count[outH - 1];
    const rows = yLast - yFirst;
    const data = new Uint8Array(outW * rows * nc);
    for (let y = 0; y < rows; y++) {
      const inRow = (y + yFirst) * img.width;
      for (let xx = 0; xx < outW; xx++) {
        const xmin = hor.start[xx];
        const n = hor.count[xx];
        const kb = xx * hor.ksize;
        for (let ch = 0; ch < nc; ch++) {
          let acc = half;
          for (let x = 0; x < n; x++) acc += img.data[(inRow + xmin + x) * nc + ch] * hor.k[kb + x];
          data[(y * outW + xx) * nc + ch] = clip8(acc);
        }
      }
    }
    src = { width: outW, height: rows, channels: nc, data };
    rowShift = yFirst;
  }
  if (outH === img.height) return src;

  const data = new Uint8Array(outW * outH * nc);
  const rowLen = outW * nc;
  for (let yy = 0; yy < outH; yy++) {
    const ymin = vert.start[yy] - rowShift;
    const n = vert.count[yy];
    const kb = yy * vert.ksize;
    for (let i = 0; i < rowLen; i++) {
      let acc = half;
      for (let y = 0; y < n; y++) acc += src.data[(ymin + y) * rowLen + i] * vert.k[kb + y];
      data[yy * rowLen + i] = clip8(acc);
    }
  }
  return { width: outW, height: outH, channels: nc, data };
}

/**
 * PIL's NEAREST resize goes through ImagingScaleAffine: the source coordinate starts at scale/2
 * and is advanced by repeated addition of the scale, then truncated. The accumulation is kept
 * because its rounding decides ties exactly as PIL does.
 */
function nearestIndex(inSize: number, outSize: number): Int32Array {
  const scale = inSize / outSize;
  const idx = new Int32Array(outSize);
  let pos = scale * 0.5;
  for (let i = 0; i < outSize; i++) {
    // PIL skips (leaves black) a coordinate outside the image; the last one is inSize - scale/2,
    // so clamping only guards against it in theory.
    idx[i] = Math.min(Math.trunc(pos), inSize - 1);
    pos += scale;
  }
  return idx;
}

function resizeNearest(img: RawImage, outW: number, outH: number): RawImage {
  const nc = img.channels;
  const xs = nearestIndex(img.width, outW);
  const ys = nearestIndex(img.height, outH);
  const data = new Uint8Array(outW * outH * nc);
  for (let y = 0; y < outH; y++) {
    const inRow = ys[y] * img.width;
    for (let x = 0; x < outW; x++) {
      const s = (inRow + xs[x]) * nc;
      const d = (y * outW + x) * nc;
      for (let ch = 0; ch < nc; ch++) data[d + ch] = img.data[s + ch];
    }
  }
  return { width: outW, height: outH, channels: nc, data };
}
