import { describe, expect, it } from 'vitest';
import { activationCandidates, convWeightCandidates, linearWeightCandidates, matmulBoundCandidates, matmulBoundLevels, perChannelActivationCandidates, roundHalfEven, scaleZeroFromBounds, valuesPerHead } from '../../src/quant/candidates.js';
import { quantile, quantiles, sortedCopy } from '../../src/quant/quantile.js';
import { attentionPerHeadRow, qkvPerHeadChannel, qkvPerHeadToken } from '../../src/quant/views.js';
import { uniforms } from '../../src/util/prng.js';

const random = (seed: number, count: number, lo = -1, hi = 1): Float32Array => Float32Array.from(uniforms(seed, 7, count), (u) => lo + (hi - lo) * u);
const f32 = Math.fround;

describe('roundHalfEven', () => {
  it('sends ties to the even neighbour', () => {
    expect([-2.5, -1.5, 0.5, 1.5, 2.5, 2.4, -2.6].map(roundHalfEven)).toEqual([-2, -2, 0, 2, 2, 2, -3]);
  });
});

describe('linear weight candidates (§4.1)', () => {
  const shapes: [bits: number, numScale: number, numZp: number, firstZp: number][] = [
    [2, 32, 4, 0],
    [3, 16, 8, 0],
    [4, 8, 16, 0],
    [6, 8, 16, 24],
    [8, 8, 16, 120],
  ];
  for (const [bits, numScale, numZp, firstZp] of shapes) {
    it(`${bits} bits: ${numScale} scales x ${numZp} zero-points from ${firstZp}, zero-point-major`, () => {
      const rows = 3;
      const cols = 40;
      const w = random(bits, rows * cols);
      const c = linearWeightCandidates(w, rows, cols, bits);
      expect([c.count, c.numScale, c.numZeroPoint]).toEqual([128, numScale, numZp]);
      expect(c.scale.length).toBe(rows * 128);
      expect(c.zeroPoint.length).toBe(rows * 128);
      for (let r = 0; r < rows; r++) {
        const at = r * 128;
        for (let i = 0; i < 128; i++) {
          expect(c.zeroPoint[at + i]).toBe(firstZp + Math.floor(i / numScale));
          expect(c.scale[at + i]).toBe(c.scale[at + (i % numScale)]);
        }
        for (let si = 1; si < numScale; si++) expect(c.scale[at + si]).toBeGreaterThan(c.scale[at + si - 1]);
        // The narrowest scale spans q0.1..q0.9 of the row, the widest its min..max.
        const [q10, q90, min, max] = quantiles(w.subarray(r * cols, (r + 1) * cols), [0.1, 0.9, 0, 1]);
        expect(c.scale[at]).toBe(f32((q90 - q10) / (2 ** bits - 1)));
        expect(c.scale[at + numScale - 1]).toBe(f32((max - min) / (2 ** bits - 1)));
      }
    });
  }

  it('known values on a hand-made row: 1..10 has q0.1 = 1.9 and q0.9 = 9.1', () => {
    const row = [7, 3, 10, 1, 5, 9, 2, 8, 4, 6];
    const w = Float32Array.from([...row, ...row.map((v) => 2 * v)]);
    const c = linearWeightCandidates(w, 2, 10, 3);
    for (let si = 0; si < 16; si++) {
      const expected = (7.2 + (si / 15) * (9 - 7.2)) / 7;
      expect(c.scale[si]).toBeCloseTo(expected, 6);
      expect(c.scale[128 + si]).toBeCloseTo(2 * expected, 6);
    }
    expect(c.scale[15]).toBe(f32(9 / 7));
    expect(Array.from(new Set(c.zeroPoint))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('clamps the scales of a constant row to 1e-8 and leaves other rows alone', () => {
    const w = Float32Array.from([...new Array<number>(8).fill(0.3), ...random(3, 8)]);
    const c = linearWeightCandidates(w, 2, 8, 4);
    expect(new Set(c.scale.subarray(0, 128))).toEqual(new Set([f32(1e-8)]));
    expect(Math.min(...c.scale.subarray(128))).toBeGreaterThan(1e-3);
  });

  it('validates bits and eqN', () => {
    expect(() => linearWeightCandidates(random(1, 8), 2, 4, 9)).toThrow(/bit width 9/);
    expect(() => linearWeightCandidates(random(1, 8), 2, 4, 1)).toThrow(/bit width 1/);
    expect(() => linearWeightCandidates(random(1, 8), 2, 4, 4, 100)).toThrow(/multiple of 16/);
  });
});

describe('activation candidates (§4.1)', () => {
  it('builds the grid from the per-tensor quantiles and appends a duplicate: 129', () => {
    const x = random(4, 6 * 50, -3, 5);
    for (const bits of [3, 4, 6]) {
      const c = activationCandidates(x, bits);
      expect(c.count).toBe(129);
      expect(c.scale.length).toBe(129);
      expect(c.scale[128]).toBe(c.scale[127]);
      expect(c.zeroPoint[128]).toBe(c.zeroPoint[127]);
      const w = linearWeightCandidates(x, 1, x.length, bits);
      expect(Array.from(c.scale.subarray(0, 128))).toEqual(Array.from(w.scale));
      expect(Array.from(c.zeroPoint.subarray(0, 128))).toEqual(Array.from(w.zeroPoint));
    }
  });

  it('known values on a hand-made tensor', () => {
    const c = activationCandidates(Float32Array.from([7, 3, 10, 1, 5, 9, 2, 8, 4, 6]), 4);
    expect([c.numScale, c.numZeroPoint]).toEqual([8, 16]);
    for (let si = 0; si < 8; si++) expect(c.scale[si]).toBeCloseTo((7.2 + (si / 7) * 1.8) / 15, 6);
    expect(c.zeroPoint[0]).toBe(0);
    expect(c.zeroPoint[127]).toBe(15);
  });

  it('clamps scales to 1e-4', () => {
    const x = Float32Array.from(uniforms(5, 0, 64), (u) => 1 + 1e-5 * u);
    const c = activationCandidates(x, 3);
    expect(new Set(c.scale)).toEqual(new Set([f32(1e-4)]));
  });

  it('per-channel candidates equal the per-tensor construction on each column', () => {
    const rows = 30;
    const channels = 5;
    const x = Float32Array.from(uniforms(6, 0, rows * channels), (u, i) => (i % channels) + 2 * u - 1);
    const c = perChannelActivationCandidates(x, rows, channels, 4);
    expect(c.count).toBe(129);
    for (let ch = 0; ch < channels; ch++) {
      const column = Float32Array.from({ length: rows }, (_, r) => x[r * channels + ch]);
      const one = activationCandidates(column, 4);
      expect(Array.from(c.scale.subarray(ch * 129, (ch + 1) * 129))).toEqual(Array.from(one.scale));
      expect(Array.from(c.zeroPoint.subarray(ch * 129, (ch + 1) * 129))).toEqual(Array.from(one.zeroPoint));
    }
  });
});

describe('bounds to scale and zero-point', () => {
  it('s = (u - l)/(2^b - 1), z = -round(l/s) with ties to even', () => {
    expect(scaleZeroFromBounds(2.25, -1.25, 3)).toEqual({ scale: 0.5, zeroPoint: 2 }); // l/s = -2.5
    expect(scaleZeroFromBounds(2.75, -0.75, 3)).toEqual({ scale: 0.5, zeroPoint: 2 }); // l/s = -1.5
    const { scale, zeroPoint } = scaleZeroFromBounds(1, -0.5, 3);
    expect(scale).toBe(f32(1.5 / 7));
    expect(zeroPoint).toBe(2); // -0.5/s = -2.33
    expect(Object.is(scaleZeroFromBounds(1, 0, 4).zeroPoint, 0)).toBe(true);
    expect(scaleZeroFromBounds(0.2, 0.2, 4).scale).toBe(f32(1e-8));
  });
});

describe('matmul bound candidates (§4.2)', () => {
  it('levels: upper linspace(0.99, 0.99999), lower linspace(0.00001, 0.01)', () => {
    const { upper, lower } = matmulBoundLevels(129);
    expect([upper[0], lower[0], lower[128]]).toEqual([0.99, 0.00001, 0.01]);
    expect(upper[128]).toBeCloseTo(0.99999, 15);
    expect(upper[64]).toBeCloseTo((0.99 + 0.99999) / 2, 15);
  });

  const [B, T, H, hd] = [2, 3, 2, 4];
  const D = H * hd;
  it('valuesPerHead slices q, k, v of the fused qkv [B, T, 3D] by head', () => {
    const qkv = Float32Array.from({ length: B * T * 3 * D }, (_, i) => i + 0.5);
    const views = [qkvPerHeadToken(B, T, H, hd, 0), qkvPerHeadToken(B, T, H, hd, 1), qkvPerHeadChannel(B, T, H, hd)];
    views.forEach((view, part) => {
      const heads = valuesPerHead(qkv, view, H);
      for (let h = 0; h < H; h++) {
        const expected: number[] = [];
        for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let d = h * hd; d < (h + 1) * hd; d++) expected.push(qkv[(b * T + t) * 3 * D + part * D + d]);
        expect(Array.from(heads[h])).toEqual(expected);
      }
    });
  });

  it('valuesPerHead slices the attention map [B, H, T, T] by head', () => {
    const attn = Float32Array.from({ length: B * H * T * T }, (_, i) => i + 0.25);
    const heads = valuesPerHead(attn, attentionPerHeadRow(B, H, T), H);
    for (let h = 0; h < H; h++) {
      const expected = [...attn.subarray((0 * H + h) * T * T, (0 * H + h + 1) * T * T), ...attn.subarray((1 * H + h) * T * T, (1 * H + h + 1) * T * T)];
      expect(Array.from(heads[h])).toEqual(expected);
    }
    expect(() => valuesPerHead(attn, attentionPerHeadRow(B, H, T), 1)).toThrow(/head 1/);
  });

  it('per head: quantile bounds, monotone in t, s > 0, startIndex n - 2', () => {
    const [b2, t2, h2, d2] = [2, 17, 3, 8];
    const qkv = random(8, b2 * t2 * 3 * h2 * d2, -2, 3);
    const view = qkvPerHeadToken(b2, t2, h2, d2, 1);
    const c = matmulBoundCandidates(qkv, view, h2, 4);
    expect(c.count).toBe(129);
    expect(c.startIndex).toBe(127);
    expect(c.upper.length).toBe(h2 * 129);
    const levels = matmulBoundLevels(129);
    valuesPerHead(qkv, view, h2).forEach((values, h) => {
      const sorted = sortedCopy(values);
      for (let t = 0; t < 129; t++) {
        const i = h * 129 + t;
        expect(c.upper[i]).toBe(f32(quantile(sorted, levels.upper[t])));
        expect(c.lower[i]).toBe(f32(quantile(sorted, levels.lower[t])));
        expect(c.scale[i]).toBeGreaterThan(0);
        expect({ scale: c.scale[i], zeroPoint: c.zeroPoint[i] }).toEqual(scaleZeroFromBounds(c.upper[i], c.lower[i], 4));
        if (t > 0) {
          expect(c.upper[i]).toBeGreaterThanOrEqual(c.upper[i - 1]);
          expect(c.lower[i]).toBeGreaterThanOrEqual(c.lower[i - 1]);
        }
      }
      expect(c.upper[h * 129 + 128]).toBeLessThanOrEqual(sorted[sorted.length - 1]);
      expect(c.lower[h * 129]).toBeGreaterThanOrEqual(sorted[0]);
    });
  });
});

describe('conv weight candidates (§4.3)', () => {
  it('129 percentile pairs per output channel, the last one min/max', () => {
    const rows = 3;
    const cols = 300;
    const w = random(9, rows * cols, -0.5, 0.7);
    const c = convWeightCandidates(w, rows, cols, 3);
    expect(c.count).toBe(129);
    expect(c.scale.length).toBe(rows * 129);
    for (let r = 0; r < rows; r++) {
      const sorted = sortedCopy(w.subarray(r * cols, (r + 1) * cols));
      const at = r * 129;
      expect(c.upper[at + 128]).toBe(f32(sorted[cols - 1]));
      expect(c.lower[at + 128]).toBe(f32(sorted[0]));
      expect(c.upper[at]).toBe(f32(quantile(sorted, 0.99)));
      const p1 = 0.99 + (0.9999 - 0.99) * Math.sqrt(1 / 127);
      expect(c.upper[at + 1]).toBe(f32(quantile(sorted, p1)));
      expect(c.lower[at + 1]).toBe(f32(quantile(sorted, 1 - p1)));
      for (let i = 0; i < 129; i++) {
        expect(c.scale[at + i]).toBeGreaterThan(0);
        expect({ scale: c.scale[at + i], zeroPoint: c.zeroPoint[at + i] }).toEqual(scaleZeroFromBounds(c.upper[at + i], c.lower[at + i], 3));
        if (i > 0) {
          expect(c.upper[at + i]).toBeGreaterThanOrEqual(c.upper[at + i - 1]);
          expect(c.lower[at + i]).toBeLessThanOrEqual(c.lower[at + i - 1]);
        }
      }
    }
    expect(() => convWeightCandidates(w, rows, cols, 0)).toThrow(/bit width 0/);
  });
});
