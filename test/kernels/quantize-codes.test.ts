import { describe, expect, it } from 'vitest';
import { fakeQuantInto } from '../../src/ops/fake-quant.js';
import { gelu } from '../../src/ops/gelu.js';
import { quantizeCodes, quantizeCodesInto, wordsFor, type CodeLayout } from '../../src/ops/quantize-codes.js';
import { packedAttentionPerHeadRow, packedPerTensor, packedPerToken, packedQkvPerHeadChannelTransposed, packedQkvPerHeadToken } from '../../src/quant/views.js';
import { uniforms } from '../../src/util/prng.js';
import { testContext } from '../helpers/gpu.js';
import { forEachViewed, roundHalfEven } from '../reference/fake-quant.js';
import { quantizeCodesRef, unpackCodes } from '../reference/quantize-codes.js';

interface Case {
  name: string;
  layout: CodeLayout;
  /** Length of the float source tensor, and of its scale and zero-point arrays. */
  length: number;
  scales: number;
  zeroPoints: number;
}

// Awkward sizes: packed axes of 9, 13, 5, 7, 1 and 3 codes (not multiples of 4), primes elsewhere.
const B = 2, T = 7, H = 3, HD = 5, D = H * HD;
const cases: Case[] = [
  { name: 'linear input per token [2,5,9]', layout: packedPerToken(2, 5, 9), length: 2 * 5 * 9, scales: 5, zeroPoints: 1 },
  { name: 'linear input per token [1,1,1]', layout: packedPerToken(1, 1, 1), length: 1, scales: 1, zeroPoints: 1 },
  { name: 'head input per tensor [3,13]', layout: packedPerTensor(3, 13), length: 3 * 13, scales: 1, zeroPoints: 1 },
  { name: 'q per head x token', layout: packedQkvPerHeadToken(B, T, H, HD, 0), length: B * T * 3 * D, scales: H * T, zeroPoints: H },
  { name: 'k per head x token', layout: packedQkvPerHeadToken(B, T, H, HD, 1), length: B * T * 3 * D, scales: H * T, zeroPoints: H },
  { name: 'k per head x token, head dim 1', layout: packedQkvPerHeadToken(1, 3, 2, 1, 1), length: 3 * 3 * 2, scales: 2 * 3, zeroPoints: 2 },
  { name: 'v transposed, per head x channel', layout: packedQkvPerHeadChannelTransposed(B, T, H, HD), length: B * T * 3 * D, scales: H * HD, zeroPoints: H },
  { name: 'v transposed, 3 tokens', layout: packedQkvPerHeadChannelTransposed(1, 3, 2, 3), length: 3 * 3 * 6, scales: 2 * 3, zeroPoints: 2 },
  { name: 'attention map per head x row', layout: packedAttentionPerHeadRow(B, H, T), length: B * H * T * T, scales: H * T, zeroPoints: H },
];

let stream = 300;
const draw = (count: number, seed: number): Float64Array => uniforms(seed, stream++, count);

/** Padded destination strides (a gap after every row and block) and a word offset, to catch stray writes. */
function gapped(c: Case): { offset: number; strides: [number, number, number]; size: number } {
  const [n0, n1, n2, n3] = c.layout.view.sizes;
  const d2 = wordsFor(n3) + 1;
  const d1 = n2 * d2 + 2;
  const d0 = n1 * d1 + 1;
  return { offset: 3, strides: [d0, d1, d2], size: 3 + n0 * d0 + 2 };
}

describe('quantize-codes', () => {
  it('layouts are dense: packed shape and strides agree', () => {
    for (const c of cases) {
      const [n0, n1, n2, n3] = c.layout.view.sizes;
      expect(c.layout.shape.reduce((a, b) => a * b, 1), c.name).toBe(n0 * n1 * n2 * wordsFor(n3));
      expect(c.layout.shape[c.layout.shape.length - 1], c.name).toBe(wordsFor(n3));
      expect(c.layout.strides[2] * (n2 - 1) + c.layout.strides[1] * (n1 - 1) + c.layout.strides[0] * (n0 - 1) + wordsFor(n3), c.name).toBe(
        n0 * n1 * n2 * wordsFor(n3),
      );
    }
  });

  for (const c of cases) {
    for (const bits of [2, 3, 4, 8]) {
      it(`${c.name}, ${bits} bits: code for code, ties to even, clamping, zero padding`, async () => {
        const ctx = await testContext();
        const qmax = 2 ** bits - 1;
        // Power-of-two scales make x / s exact, so the GPU and the reference see the same quotient.
        const scale = Float32Array.from(draw(c.scales, 11), (u) => 2 ** -(1 + Math.floor(u * 6)));
        const zp = Float32Array.from(draw(c.zeroPoints, 12), (u) => 1 + Math.floor(u * qmax));
        // Viewed elements: a third sit exactly on rounding ties, the rest anywhere in
        // [-3, qmax + 3] steps around the zero point (so some clamp at both ends).
        const x = Float32Array.from(draw(c.length, 13), (u) => 2 * u - 1);
        const kind = draw(c.length, 14);
        const where = draw(c.length, 15);
        forEachViewed(c.layout.view, (at, si, zi) => {
          const k = -3 + (qmax + 6) * where[at];
          const step = kind[at] < 1 / 3 ? Math.floor(k) + 0.5 : k;
          x[at] = Math.fround((step - zp[zi]) * scale[si]);
        });
        const t = { x: ctx.upload(x, [x.length], 'x'), s: ctx.upload(scale, [scale.length], 's'), z: ctx.upload(zp, [zp.length], 'z') };
        const ref = quantizeCodesRef(x, scale, zp, bits, c.layout.view);

        // Dense, through the allocating wrapper.
        const dense = quantizeCodes(ctx, t.x, t.s, t.z, bits, c.layout, 'codes');
        expect(dense.dtype).toBe('u32');
        expect(dense.shape).toEqual(c.layout.shape);
        const got = unpackCodes(await ctx.readU32(dense), c.layout.view.sizes, 0, c.layout.strides);
        expect(Array.from(got.codes)).toEqual(Array.from(ref));
        expect(got.padding.every((b) => b === 0)).toBe(true);
        expect(got.covered.size).toBe(dense.size);

        // Into a gapped destination: words between the packed rows keep the poison value.
        const g = gapped(c);
        const dst = ctx.empty([g.size], 'gapped', 'u32');
        quantizeCodesInto(ctx, t.x, t.s, t.z, bits, c.layout.view, { tensor: dst, offset: g.offset, strides: g.strides });
        const words = await ctx.readU32(dst);
        const back = unpackCodes(words, c.layout.view.sizes, g.offset, g.strides);
        expect(Array.from(back.codes)).toEqual(Array.from(ref));
        expect(back.padding.every((b) => b === 0)).toBe(true);
        for (let i = 0; i < words.length; i++) if (!back.covered.has(i)) expect(words[i], `word ${i}`).toBe(0x7fc00000);
        for (const v of [t.x, t.s, t.z, dense, dst]) v.release();
      });
    }

    it(`${c.name}, 4 bits, random scales: (code − z)·s is bit for bit the fake-quant output`, async () => {
      const ctx = await testContext();
      const bits = 4;
      const scale = Float32Array.from(draw(c.scales, 21), (u) => 0.01 + 0.29 * u);
      const zp = Float32Array.from(draw(c.zeroPoints, 22), (u) => 1 + Math.floor(u * 14));
      const x = Float32Array.from(draw(c.length, 23), (u) => 4 * u - 2);
      const t = { x: ctx.upload(x, [x.length], 'x'), s: ctx.upload(scale, [scale.length], 's'), z: ctx.upload(zp, [zp.length], 'z') };
      const y = ctx.upload(x, [x.length], 'y');
      fakeQuantInto(ctx, t.x, t.s, t.z, bits, c.layout.view, y);
      const codes = quantizeCodes(ctx, t.x, t.s, t.z, bits, c.layout, 'codes');
      const fq = await ctx.read(y);
      const got = unpackCodes(await ctx.readU32(codes), c.layout.view.sizes, 0, c.layout.strides).codes;
      let i = 0;
      forEachViewed(c.layout.view, (at, si, zi) => {
        const dequantized = Math.fround((got[i++] - roundHalfEven(zp[zi])) * scale[si]);
        expect(dequantized, `element ${at}`).toBe(fq[at]);
      });
      for (const v of [t.x, t.s, t.z, y, codes]) v.release();
    });
  }

  it('with gelu: the codes of gelu(x), the same as the gelu op followed by quantize-codes', async () => {
    const ctx = await testContext();
    const layout = packedPerToken(2, 5, 9);
    const n = 2 * 5 * 9;
    const scale = Float32Array.from(draw(5, 31), (u) => 0.02 + 0.2 * u);
    const zp = new Float32Array([3]);
    const x = Float32Array.from(draw(n, 32), (u) => 8 * u - 4);
    const t = { x: ctx.upload(x, [n], 'x'), s: ctx.upload(scale, [5], 's'), z: ctx.upload(zp, [1], 'z') };
    const g = gelu(ctx, t.x, 'g');
    const separate = quantizeCodes(ctx, g, t.s, t.z, 4, layout, 'separate');
    const fused = quantizeCodes(ctx, t.x, t.s, t.z, 4, layout, 'fused', { gelu: true });
    const [a, b] = [await ctx.readU32(separate), await ctx.readU32(fused)];
    expect(Array.from(b)).toEqual(Array.from(a));
    // And it is not a no-op: GELU changes the codes of negative inputs.
    const plain = await ctx.readU32(quantizeCodes(ctx, t.x, t.s, t.z, 4, layout, 'plain'));
    expect(Array.from(plain)).not.toEqual(Array.from(b));
    for (const v of [...Object.values(t), g, separate, fused]) v.release();
  });

  it('rejects codes wider than a byte', async () => {
    const ctx = await testContext();
    const x = ctx.upload(new Float32Array([0.5, -0.25]), [2], 'x');
    const s = ctx.upload(new Float32Array([0.125]), [1], 's');
    expect(() => quantizeCodes(ctx, x, s, s, 9, packedPerTensor(1, 2), 'codes')).toThrow(/9 bits/);
    x.release();
    s.release();
  });

  it('rejects a view whose scale or zero-point varies along the packed axis', async () => {
    const ctx = await testContext();
    const x = ctx.upload(new Float32Array(6), [6], 'x');
    const s = ctx.upload(new Float32Array([0.125, 0.25, 0.5]), [3], 's');
    const layout = packedPerTensor(2, 3);
    for (const varying of [{ scale: [0, 0, 0, 1] }, { zeroPoint: [0, 0, 0, 1] }] as const) {
      const view = { ...layout.view, ...varying } as typeof layout.view;
      expect(() => quantizeCodes(ctx, x, s, s, 4, { ...layout, view }, 'codes')).toThrow(/varies along the packed axis/);
    }
    x.release();
    s.release();
  });
});
