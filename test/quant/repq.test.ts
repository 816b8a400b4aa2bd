import { describe, expect, it } from 'vitest';
import { repqFold } from '../../src/quant/repq.js';
import { uniforms } from '../../src/util/prng.js';
import { layerNormRef } from '../reference/layer-norm.js';
import { linearRef } from '../reference/matmul.js';

const u = (seed: number, count: number, lo: number, hi: number): Float64Array => Float64Array.from(uniforms(seed, 11, count), (v) => lo + (hi - lo) * v);

describe('RepQ-ViT reparameterisation (§4.4)', () => {
  const C = 12;
  const O = 5;
  const rows = 7;
  const scale = u(1, C, 0.01, 0.2);
  const zeroPoint = Float64Array.from(u(2, C, 0, 15.99), Math.floor);
  const gamma = u(3, C, 0.5, 1.5);
  const beta = u(4, C, -0.3, 0.3);
  const weight = u(5, O * C, -0.5, 0.5);
  const bias = u(6, O, -0.1, 0.1);
  const x = u(7, rows * C, -2, 2);

  for (const withBias of [true, false]) {
    it(`preserves linear(LN(x)) in float64 (${withBias ? 'with' : 'creating a'} bias)`, () => {
      const b0 = withBias ? bias : null;
      const f = repqFold({ scale, zeroPoint, gamma, beta, weight, bias: b0, outFeatures: O });
      const before = linearRef(layerNormRef(x, gamma, beta, rows, C, 1e-6), weight, b0, rows, C, O);
      const after = linearRef(layerNormRef(x, f.gamma, f.beta, rows, C, 1e-6), f.weight, f.bias, rows, C, O);
      for (let i = 0; i < before.length; i++) expect(Math.abs(after[i] - before[i])).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(before[i])));
    });
  }

  it('computes s̄, z̄, r and b as §4.4 states and maps each channel grid onto the per-tensor one', () => {
    const f = repqFold({ scale, zeroPoint, gamma, beta, weight, bias, outFeatures: O });
    const sBar = scale.reduce((a, b) => a + b) / C;
    expect(f.scale).toBeCloseTo(sBar, 15);
    expect(f.zeroPoint).toBe(Math.round(zeroPoint.reduce((a, b) => a + b) / C));
    for (let c = 0; c < C; c++) {
      expect(f.r[c]).toBeCloseTo(scale[c] / sBar, 14);
      expect(f.gamma[c]).toBeCloseTo(gamma[c] / f.r[c], 14);
      expect(f.beta[c]).toBeCloseTo(beta[c] / f.r[c] - f.b[c], 14);
      // Channel c's quantization minimum -z_c·s_c, after x/r - b, lands on the per-tensor minimum -z̄·s̄.
      expect((-zeroPoint[c] * scale[c]) / f.r[c] - f.b[c]).toBeCloseTo(-f.zeroPoint * f.scale, 12);
      for (let o = 0; o < O; o++) expect(f.weight[o * C + c]).toBeCloseTo(weight[o * C + c] * f.r[c], 14);
    }
  });

  it('rounds the mean zero-point half to even and leaves the inputs unchanged', () => {
    const copy = [scale, zeroPoint, gamma, beta, weight, bias].map((a) => Float64Array.from(a));
    const f = repqFold({ scale: [0.1, 0.3], zeroPoint: [2, 3], gamma: [1, 1], beta: [0, 0], weight: [1, 2], bias: null, outFeatures: 1 });
    expect(f.zeroPoint).toBe(2); // mean 2.5
    repqFold({ scale, zeroPoint, gamma, beta, weight, bias, outFeatures: O });
    [scale, zeroPoint, gamma, beta, weight, bias].forEach((a, i) => expect(a).toEqual(copy[i]));
  });

  it('rejects mismatched shapes and non-positive scales', () => {
    expect(() => repqFold({ scale: [0.1, 0.2], zeroPoint: [1], gamma: [1, 1], beta: [0, 0], weight: [1, 1], bias: null, outFeatures: 1 })).toThrow(/zero-points/);
    expect(() => repqFold({ scale: [0.1, 0.2], zeroPoint: [1, 1], gamma: [1, 1], beta: [0, 0], weight: [1, 1, 1], bias: null, outFeatures: 1 })).toThrow(/weight/);
    expect(() => repqFold({ scale: [0.1, 0], zeroPoint: [1, 1], gamma: [1, 1], beta: [0, 0], weight: [1, 1], bias: null, outFeatures: 1 })).toThrow(/not positive/);
  });
});
