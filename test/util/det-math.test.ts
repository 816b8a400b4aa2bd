/** The engine-independent exp, log, cos and integer powers against Math's, on seeded inputs. */
import { describe, expect, it } from 'vitest';
import { detCos, detExp, detLog, powInt } from '../../src/util/det-math.js';
import { uniformTensor } from '../../src/util/prng.js';

/** Largest relative difference from Math's, over `xs`. */
function worst(f: (x: number) => number, g: (x: number) => number, xs: ArrayLike<number>): number {
  let w = 0;
  for (let i = 0; i < xs.length; i++) {
    const [a, b] = [f(xs[i]), g(xs[i])];
    w = Math.max(w, a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(b), Number.MIN_VALUE));
  }
  return w;
}

describe('det-math', () => {
  const wide = Float64Array.from(uniformTensor(5, 1, 20000, 0, 700));
  const small = Float64Array.from(uniformTensor(5, 2, 20000, 0, 2));

  it('exp within a few units in the last place of Math.exp, from underflow to overflow', () => {
    expect(worst(detExp, Math.exp, wide)).toBeLessThan(2e-15);
    expect(worst(detExp, Math.exp, small)).toBeLessThan(1e-15);
    expect([detExp(0), detExp(800), detExp(-800), detExp(NaN)]).toEqual([1, Infinity, 0, NaN]);
    expect(detExp(-744) / Math.exp(-744)).toBeCloseTo(1, 0);
  });

  it('log within a few units in the last place of Math.log, subnormals to the largest double', () => {
    const positive = Array.from(wide, (v) => Math.exp(v));
    expect(worst(detLog, Math.log, positive)).toBeLessThan(2e-15);
    expect(worst(detLog, Math.log, Array.from(small, (v) => 1 + v / 100))).toBeLessThan(4e-15);
    expect(worst(detLog, Math.log, [5e-324, 1e-310, Number.MAX_VALUE, 0.5, 2, Math.E])).toBeLessThan(2e-15);
    expect([detLog(1), detLog(0), detLog(-1), detLog(Infinity)]).toEqual([0, -Infinity, NaN, Infinity]);
  });

  it('cos within 1e-15 of Math.cos on the learning-rate schedule and beyond', () => {
    const schedule = Array.from({ length: 20001 }, (_, i) => (Math.PI * i) / 20000);
    const absolute = (xs: number[]) => Math.max(...xs.map((x) => Math.abs(detCos(x) - Math.cos(x))));
    expect(absolute(schedule)).toBeLessThan(1e-15);
    // Beyond [-pi, pi] the reduction by a rounded 2 pi costs about |x| · 1e-16.
    expect(absolute(Array.from(small, (v) => v * 50))).toBeLessThan(3e-14);
  });

  it('integer powers by squaring', () => {
    expect(powInt(0.9, 0)).toBe(1);
    expect(powInt(2, 10)).toBe(1024);
    for (const n of [1, 7, 100, 1999, 20000]) expect(Math.abs(powInt(0.999, n) / 0.999 ** n - 1)).toBeLessThan(1e-12);
    expect(() => powInt(2, 1.5)).toThrow(/not a non-negative integer/);
  });
});
