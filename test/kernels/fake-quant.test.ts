import { describe, expect, it } from 'vitest';
import { fakeQuantInto, viewCount, type QuantView } from '../../src/ops/fake-quant.js';
import { attentionPerHeadRow, perOutputChannel, perTensor, perToken, qkvPerHeadChannel, qkvPerHeadToken } from '../../src/quant/views.js';
import { uniforms } from '../../src/util/prng.js';
import { randomData, testContext } from '../helpers/gpu.js';
import { fakeQuantRef, forEachViewed } from '../reference/fake-quant.js';

interface Case {
  name: string;
  view: QuantView;
  length: number;
  scales: number;
  zeroPoints: number;
}

const B = 2, T = 5, H = 3, HD = 4, D = H * HD;
const cases: Case[] = [
  { name: 'weights per output channel', view: perOutputChannel(7, 13), length: 7 * 13, scales: 7, zeroPoints: 7 },
  { name: 'linear input per token', view: perToken(B, T, 9), length: B * T * 9, scales: T, zeroPoints: 1 },
  { name: 'head input per tensor', view: perTensor(11), length: 11, scales: 1, zeroPoints: 1 },
  { name: 'q per head x token', view: qkvPerHeadToken(B, T, H, HD, 0), length: B * T * 3 * D, scales: H * T, zeroPoints: H },
  { name: 'k per head x token', view: qkvPerHeadToken(B, T, H, HD, 1), length: B * T * 3 * D, scales: H * T, zeroPoints: H },
  { name: 'v per head x channel', view: qkvPerHeadChannel(B, T, H, HD), length: B * T * 3 * D, scales: H * HD, zeroPoints: H },
  { name: 'attention per head x row', view: attentionPerHeadRow(B, H, T), length: B * H * T * T, scales: H * T, zeroPoints: H },
  // Innermost sizes divisible by 4 and by 2: the kernel then takes 4 or 2 elements per invocation.
  { name: 'linear input per token, 8 channels', view: perToken(B, T, 8), length: B * T * 8, scales: T, zeroPoints: 1 },
  { name: 'per tensor, 12 elements', view: perTensor(12), length: 12, scales: 1, zeroPoints: 1 },
  { name: 'attention per head x row, 6 tokens', view: attentionPerHeadRow(B, H, 6), length: B * H * 6 * 6, scales: H * 6, zeroPoints: H },
];

let stream = 100;
function draw(count: number, lo: number, hi: number): Float32Array {
  return Float32Array.from(uniforms(77, stream++, count), (u) => lo + (hi - lo) * u);
}

async function runGpu(c: Case, x: Float32Array, scale: Float32Array, zp: Float32Array, bits: number): Promise<Float32Array> {
  const ctx = await testContext();
  const t = { x: ctx.upload(x, [x.length], 'x'), s: ctx.upload(scale, [scale.length], 's'), z: ctx.upload(zp, [zp.length], 'z') };
  // y starts as a copy of x: elements outside the view must come back unchanged.
  const y = ctx.upload(x, [x.length], 'y');
  fakeQuantInto(ctx, t.x, t.s, t.z, bits, c.view, y);
  const got = await ctx.read(y);
  for (const v of [t.x, t.s, t.z, y]) v.release();
  return got;
}

describe('fake-quant', () => {
  for (const c of cases) {
    for (const bits of [2, 3, 4, 6, 8]) {
      it(`${c.name}, ${bits} bits: exact on grid points, including clamped ones`, async () => {
        const qmax = 2 ** bits - 1;
        // Power-of-two scales make x / s exact, so GPU and reference must agree bit for bit.
        const scale = Float32Array.from(uniforms(5, stream++, c.scales), (u) => 2 ** -(1 + Math.floor(u * 6)));
        const zp = Float32Array.from(uniforms(6, stream++, c.zeroPoints), (u) => Math.floor(u * (qmax + 1)));
        // Viewed elements get (k - z) * s for k in [-2, qmax + 2]; the others stay random.
        const x = randomData(c.length);
        const codes = uniforms(7, stream++, c.length);
        forEachViewed(c.view, (at, si, zi) => {
          const k = -2 + Math.floor(codes[at] * (qmax + 5));
          x[at] = (k - zp[zi]) * scale[si];
        });
        const got = await runGpu(c, x, scale, zp, bits);
        expect(Array.from(got)).toEqual(Array.from(fakeQuantRef(x, scale, zp, bits, c.view)));
      });
    }

    it(`${c.name}, 4 bits: random inputs and scales match except at exact ties of x / s`, async () => {
      const bits = 4;
      const scale = draw(c.scales, 0.01, 0.3);
      const zp = Float32Array.from(draw(c.zeroPoints, 0, 15.99), Math.floor);
      const x = draw(c.length, -2, 2);
      const got = await runGpu(c, x, scale, zp, bits);
      const ref = fakeQuantRef(x, scale, zp, bits, c.view);
      let ties = 0;
      const viewed = new Set<number>();
      forEachViewed(c.view, (at, si) => {
        viewed.add(at);
        if (got[at] === ref[at]) return;
        // WGSL's division may miss the correctly rounded quotient by an ulp or two, which only
        // changes the result when x / s sits on a rounding tie; then it moves by one step.
        const ratio = x[at] / scale[si];
        expect(Math.abs(Math.abs(ratio - Math.floor(ratio)) - 0.5), `element ${at}`).toBeLessThan(1e-5);
        expect(Math.abs(got[at] - ref[at])).toBeCloseTo(scale[si], 6);
        ties++;
      });
      expect(viewed.size).toBe(viewCount(c.view));
      expect(ties).toBeLessThanOrEqual(1);
      for (let i = 0; i < c.length; i++) if (!viewed.has(i)) expect(got[i], `unviewed element ${i}`).toBe(x[i]);
    });
  }
});
