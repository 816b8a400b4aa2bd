import { describe, expect, it } from 'vitest';
import { uniforms } from '../../src/util/prng.js';
import { searchConv, searchLinear, searchMatmulPair } from '../reference/calibration-search.js';

const random = (seed: number, count: number, lo: number, hi: number): Float32Array => Float32Array.from(uniforms(seed, 13, count), (u) => lo + (hi - lo) * u);

/** Codes 0..qmax with 0 and qmax each exactly once (first two), the rest strictly inside, as (code - z)·s. */
function onGrid(seed: number, count: number, s: number, z: number, qmax: number): Float32Array {
  const inner = uniforms(seed, 17, count - 2).map((u) => 1 + Math.floor(u * (qmax - 1)));
  return Float32Array.from([0, qmax, ...inner], (code) => (code - z) * s);
}

/** Each value must not exceed the previous one by more than rounding. */
function expectNonIncreasing(values: number[]): void {
  for (let i = 1; i < values.length; i++) expect(values[i]).toBeLessThanOrEqual(values[i - 1] * (1 + 1e-12) + 1e-300);
}

describe('reference calibration search: Linear (§4.1)', () => {
  const samples = 2;
  const tokens = 5;
  const K = 8;
  const O = 3;

  it('picks the candidates that reproduce weights and inputs lying exactly on their grids', () => {
    // 3 bits: candidate c = zi·16 + si, and si = 15 is the min..max scale.
    const x = onGrid(1, samples * tokens * K, 0.5, 2, 7);
    const rowScale = [0.25, 0.5, 0.75];
    const rowZero = [1, 2, 3];
    const w = Float32Array.from(rowScale.flatMap((s, o) => Array.from(onGrid(10 + o, K, s, rowZero[o], 7))));
    const bias = random(2, O, -0.2, 0.2);
    const r = searchLinear(x, w, bias, K, tokens, 3, 3);
    const expectedW = rowZero.map((z) => z * 16 + 15);
    expect(Array.from(r.weightSelf)).toEqual(expectedW);
    expect(r.activationSelf).toBe(2 * 16 + 15);
    expect(r.rounds).toHaveLength(3);
    for (const round of r.rounds) {
      expect(Array.from(round.weight)).toEqual(expectedW);
      expect(round.activation).toBe(47);
      expect(Array.from(round.weightLoss)).toEqual([0, 0, 0]);
      expect(round.activationLoss).toBe(0);
    }
    expect(Array.from(r.weightScale)).toEqual(rowScale);
    expect(Array.from(r.weightZeroPoint)).toEqual(rowZero);
    expect([r.activationScale, r.activationZeroPoint]).toEqual([0.5, 2]);
  });

  it('never increases the layer-output error and is deterministic', () => {
    const x = random(3, samples * tokens * K, -1.5, 2.5);
    const w = random(4, O * K, -0.6, 0.6);
    const bias = random(5, O, -0.1, 0.1);
    for (const [wbits, abits] of [[3, 3], [4, 4], [4, 6]]) {
      const r = searchLinear(x, w, bias, K, tokens, wbits, abits);
      // Total output error Σ_o of the row losses; the activation loss averages over the O rows.
      const chain = r.rounds.flatMap((round) => [round.weightLoss.reduce((a, b) => a + b), O * round.activationLoss]);
      expectNonIncreasing(chain);
      expect(chain[chain.length - 1]).toBeGreaterThan(0);
      const last = r.rounds[r.rounds.length - 1];
      expect(r.activationScale).toBe(r.activationCandidates.scale[last.activation]);
      expect(Array.from(r.weightScale)).toEqual(Array.from(last.weight, (c, o) => r.weightCandidates.scale[o * 128 + c]));
      expect(searchLinear(x, w, bias, K, tokens, wbits, abits)).toEqual(r);
    }
    expect(searchLinear(x, w, null, K, tokens, 4, 4, 1).rounds).toHaveLength(1);
    expect(() => searchLinear(x, w, bias, K, 3, 4, 4)).toThrow(/bad shapes/);
  });
});

describe('reference calibration search: matmul (§4.2)', () => {
  const shape = { batch: 2, m: 6, k: 4, n: 5 };

  it('is scale-equivariant per head: a head scaled by 2 picks the same indices', () => {
    const a0 = random(6, shape.batch * shape.m * shape.k, -2, 2);
    const b0 = random(7, shape.batch * shape.k * shape.n, -1, 3);
    const r = searchMatmulPair([a0, a0.map((v) => 2 * v)], [b0, b0.map((v) => 2 * v)], shape, 3);
    expect(r.steps.map((s) => `${s.operand}:${s.bound}`)).toEqual(['a:pair', 'b:pair', ...Array.from({ length: 3 }, () => ['a:lower', 'a:upper', 'b:lower', 'b:upper']).flat()]);
    for (const step of r.steps) expect(step.index[1]).toBe(step.index[0]);
    expect(r.finalA.upper[1]).toBe(r.finalA.upper[0]);
    expect(r.finalB.lower[1]).toBe(r.finalB.lower[0]);
    expect(r.finalA.scale[1]).toBe(2 * r.finalA.scale[0]);
    expect(r.finalB.zeroPoint[1]).toBe(r.finalB.zeroPoint[0]);
  });

  it('starts at index n - 2, never increases the error, and is deterministic', () => {
    const a = [random(8, 48, -1, 1), random(9, 48, -3, 0.5), random(10, 48, 0, 1)];
    const b = [random(11, 40, -1, 1), random(12, 40, -0.5, 2), random(13, 40, -2, 2)];
    for (const bits of [3, 4]) {
      const r = searchMatmulPair(a, b, shape, bits);
      expect(r.a.startIndex).toBe(127);
      for (let h = 0; h < 3; h++) {
        const chain = [r.startLoss[h], ...r.steps.map((s) => s.loss[h])];
        expectNonIncreasing(chain);
        expect(chain[chain.length - 1]).toBeLessThan(chain[0]);
        expect(r.finalA.scale[h]).toBeGreaterThan(0);
      }
      expect(searchMatmulPair(a, b, shape, bits)).toEqual(r);
    }
  });
});

describe('reference calibration search: conv (§4.3)', () => {
  const K = 12;
  const positions = 3;
  const samples = 2;

  it('picks the min/max candidate (index 128) for rows lying exactly on its grid', () => {
    const w = Float32Array.from([...onGrid(20, K, 0.125, 3, 7), ...onGrid(21, K, 0.25, 4, 7)]);
    const patches = random(22, samples * positions * K, -1, 1);
    const r = searchConv(w, patches, random(23, 2, -0.1, 0.1), K, positions, 3);
    expect(r.steps.map((s) => s.bound)).toEqual(['pair', 'lower', 'upper', 'lower', 'upper', 'lower', 'upper']);
    for (const step of r.steps) {
      expect(Array.from(step.index)).toEqual([128, 128]);
      expect(Array.from(step.loss)).toEqual([0, 0]);
    }
    expect(Array.from(r.final.scale)).toEqual([0.125, 0.25]);
    expect(Array.from(r.final.zeroPoint)).toEqual([3, 4]);
  });

  it('never increases the conv-output error and is deterministic', () => {
    const w = random(24, 3 * K, -0.4, 0.3);
    const patches = random(25, samples * positions * K, -1, 1);
    const r = searchConv(w, patches, null, K, positions, 4);
    for (let o = 0; o < 3; o++) {
      expectNonIncreasing(r.steps.map((s) => s.loss[o]));
      expect(r.final.upper[o]).toBe(r.steps[6].index[o]);
      expect(r.final.lower[o]).toBe(r.steps[5].index[o]);
    }
    expect(searchConv(w, patches, null, K, positions, 4)).toEqual(r);
  });
});
