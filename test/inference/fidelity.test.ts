/** fidelityTo: KL between two models' output distributions and their top-1 agreement. */
import { describe, expect, it } from 'vitest';
import { type EvalResult, fidelityTo } from '../../src/inference/evaluate.js';
import { randomData } from '../helpers/gpu.js';

function result(logits: Float32Array, classes: number): EvalResult {
  const count = logits.length / classes;
  const predictions = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    for (let c = 1; c < classes; c++) if (logits[i * classes + c] > logits[i * classes + predictions[i]]) predictions[i] = c;
  }
  return { count, top1: NaN, top5: null, predictions, labels: new Int32Array(count), logits, seconds: 0 };
}

describe('fidelityTo', () => {
  const classes = 7;
  const count = 40;
  const a = randomData(count * classes, 4);
  const b = a.map((v, i) => v + 0.8 * Math.sin(3.1 * i));

  it('matches KL(p || q) written out with plain probabilities', () => {
    let ref = 0;
    let same = 0;
    const ra = result(a, classes);
    const rb = result(b, classes);
    for (let i = 0; i < count; i++) {
      const p = Array.from(a.subarray(i * classes, (i + 1) * classes), Math.exp);
      const q = Array.from(b.subarray(i * classes, (i + 1) * classes), Math.exp);
      const sp = p.reduce((x, y) => x + y);
      const sq = q.reduce((x, y) => x + y);
      for (let c = 0; c < classes; c++) ref += (p[c] / sp) * Math.log(p[c] / sp / (q[c] / sq));
      if (ra.predictions[i] === rb.predictions[i]) same++;
    }
    const got = fidelityTo(ra, rb, classes);
    expect(got.kl).toBeCloseTo(ref / count, 12);
    expect(got.kl).toBeGreaterThan(0.01);
    expect(got.agreement).toBe(same / count);
    expect(same).toBeLessThan(count);
  });

  it('is zero for the same distributions, whatever constant the logits are shifted by', () => {
    const shifted = a.map((v) => v + 5);
    const got = fidelityTo(result(a, classes), result(shifted, classes), classes);
    expect(Math.abs(got.kl)).toBeLessThan(1e-6);
    expect(got.agreement).toBe(1);
  });

  it('refuses evaluations without logits', () => {
    expect(() => fidelityTo({ ...result(a, classes), logits: null }, result(b, classes), classes)).toThrow(/keepLogits/);
  });
});
