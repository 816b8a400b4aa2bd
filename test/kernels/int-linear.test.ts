import { describe, expect, it } from 'vitest';
import { intLinear, intLinearMaxInputs, uploadPackedWeight } from '../../src/ops/int-linear.js';
import type { WeightQuant } from '../../src/quant/quantized-model.js';
import type { GpuContext } from '../../src/runtime/context.js';
import { expectClose, portableTestContext, randomData, testContext } from '../helpers/gpu.js';
import { intLinearAccRef, intLinearRef } from '../reference/int-linear.js';

/** Seeded codes in [0, 2^bits - 1]. */
function randomCodes(count: number, bits: number): Uint8Array {
  const levels = 2 ** bits;
  return Uint8Array.from(randomData(count), (v) => Math.min(levels - 1, Math.floor(((v + 1) / 2) * levels)));
}

/** Seeded zero points in [1, 2^bits - 1] (never 0). */
function randomZeroPoints(count: number, bits: number): Int32Array {
  const levels = 2 ** bits - 1;
  return Int32Array.from(randomData(count), (v) => 1 + Math.min(levels - 1, Math.floor(((v + 1) / 2) * levels)));
}

/** Activation codes [M, K] as u32 words, 4 bytes each (code i in byte i), rows of ceil(K/4) words, padded lanes 0. */
function packBytes(codes: ArrayLike<number>, M: number, K: number): Uint32Array {
  const wpr = Math.ceil(K / 4);
  const out = new Uint32Array(M * wpr);
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) out[m * wpr + (k >> 2)] += codes[m * K + k] * 2 ** (8 * (k & 3));
  }
  return out;
}

function weightQuant(N: number, K: number, bits: number, scale: Float32Array, zeroPoint = randomZeroPoints(N, bits), codes = randomCodes(N * K, bits)): WeightQuant {
  return { bits, rows: N, cols: K, scale, zeroPoint, codes };
}

interface Shape { M: number; N: number; K: number; T: number; abits: number }

// K = 1, 5, 17, 67 leave partial groups of 4; K = 64 has none. M and N are primes (or M = images x
// tokens with T | M), none a multiple of the 4x4 tile.
const SHAPES: Shape[] = [
  { M: 7, N: 5, K: 1, T: 7, abits: 8 },
  { M: 13, N: 11, K: 5, T: 1, abits: 3 },
  { M: 14, N: 7, K: 17, T: 7, abits: 4 },
  { M: 3, N: 13, K: 67, T: 1, abits: 8 },
  { M: 5, N: 3, K: 64, T: 5, abits: 4 },
  { M: 2, N: 2, K: 67, T: 2, abits: 3 },
];

/** With unit scales and no bias, the f32 output is the integer accumulator (exact while |acc| < 2^24). */
async function checkAccumulators(ctx: GpuContext, wbits: number, s: Shape): Promise<void> {
  const { M, N, K, T, abits } = s;
  const xCodes = randomCodes(M * K, abits);
  const zx = randomZeroPoints(1, abits)[0];
  const wq = weightQuant(N, K, wbits, new Float32Array(N).fill(1));
  const weight = uploadPackedWeight(ctx, wq, 'w');
  const x = ctx.upload(packBytes(xCodes, M, K), [M, Math.ceil(K / 4)], 'x');
  const sx = ctx.upload(new Float32Array(T).fill(1), [T], 'sx');
  const zxt = ctx.upload(Float32Array.of(zx), [1], 'zx');
  const y = intLinear(ctx, { x, rows: M, tokens: T, inputScale: sx, inputZeroPoint: zxt, weight });
  const got = await ctx.read(y);
  const acc = intLinearAccRef(xCodes, zx, wq.codes, wq.zeroPoint, M, N, K);
  for (const v of acc) expect(Math.abs(v)).toBeLessThan(2 ** 24);
  expect(Array.from(got), `W${wbits}A${abits} M=${M} N=${N} K=${K} T=${T}`).toEqual(Array.from(acc));
  for (const t of [x, sx, zxt, y]) t.release();
  weight.release();
}

const CONTEXTS: [string, () => Promise<GpuContext>][] = [
  ['dot4U8Packed', testContext],
  ['portable', portableTestContext],
];

describe('int-linear', () => {
  for (const [variant, context] of CONTEXTS) {
    for (const wbits of [2, 3, 4, 6, 8]) {
      it(`${variant}: exact integer accumulators, ${wbits}-bit weights, K = 1, 5, 17, 67, 64`, async () => {
        const ctx = await context();
        for (const s of SHAPES) await checkAccumulators(ctx, wbits, s);
      });
    }

    it(`${variant}: exact at the overflow bound K = ${intLinearMaxInputs(8)}, W8A8 extremes`, async () => {
      const ctx = await context();
      const M = 2;
      const N = 3;
      const K = intLinearMaxInputs(8);
      // Constant codes chosen so that accumulators reach +-K*255*255, just below 2^31.
      const cases: { x: number; zx: number; w: number[]; zw: number[] }[] = [
        { x: 255, zx: 0, w: [255, 0, 255], zw: [0, 255, 1] },
        { x: 0, zx: 255, w: [255, 0, 128], zw: [0, 255, 3] },
      ];
      for (const c of cases) {
        const xCodes = new Uint8Array(M * K).fill(c.x);
        const codes = new Uint8Array(N * K);
        for (let n = 0; n < N; n++) codes.fill(c.w[n], n * K, (n + 1) * K);
        const wq = weightQuant(N, K, 8, new Float32Array(N).fill(1), Int32Array.from(c.zw), codes);
        const weight = uploadPackedWeight(ctx, wq, 'w');
        const x = ctx.upload(packBytes(xCodes, M, K), [M, Math.ceil(K / 4)], 'x');
        const sx = ctx.upload(Float32Array.of(1), [1], 'sx');
        const zxt = ctx.upload(Float32Array.of(c.zx), [1], 'zx');
        const y = intLinear(ctx, { x, rows: M, tokens: 1, inputScale: sx, inputZeroPoint: zxt, weight });
        const acc = intLinearAccRef(xCodes, c.zx, codes, wq.zeroPoint, M, N, K);
        expect(Math.max(...acc.map(Math.abs))).toBeGreaterThan(2 ** 31 - 2 ** 17);
        // The i32 accumulator is exact; the output is it rounded once to f32.
        expect(Array.from(await ctx.read(y))).toEqual(Array.from(acc, Math.fround));
        for (const t of [x, sx, zxt, y]) t.release();
        weight.release();
      }
    });

    it(`${variant}: per-token scales, channel scales and bias into a strided output (float64 reference)`, async () => {
      const ctx = await context();
      const [M, N, K, T] = [15, 11, 37, 5];
      const [abits, wbits] = [8, 4];
      const xCodes = randomCodes(M * K, abits);
      const zx = randomZeroPoints(1, abits)[0];
      const sxv = Float32Array.from(randomData(T), (v) => 0.02 + 0.01 * v);
      const swv = Float32Array.from(randomData(N), (v) => 0.05 + 0.03 * v);
      const bias = randomData(N);
      const wq = weightQuant(N, K, wbits, swv);
      const weight = uploadPackedWeight(ctx, wq, 'w');
      const x = ctx.upload(packBytes(xCodes, M, K), [M, Math.ceil(K / 4)], 'x');
      const sx = ctx.upload(sxv, [T], 'sx');
      const zxt = ctx.upload(Float32Array.of(zx), [1], 'zx');
      const bt = ctx.upload(bias, [N], 'bias');
      // Write into columns 2..2+N of a [M, N + 5] tensor that starts 1 row in.
      const rs = N + 5;
      const off = rs + 2;
      const out = ctx.empty([M + 2, rs], 'out');
      intLinear(ctx, { x, rows: M, tokens: T, inputScale: sx, inputZeroPoint: zxt, weight, bias: bt, out: { tensor: out, offset: off, rowStride: rs } });
      const all = await ctx.read(out);
      const got = new Float32Array(M * N);
      for (let i = 0; i < all.length; i++) {
        const m = Math.floor((i - off) / rs);
        const n = (i - off) - m * rs;
        if (i >= off && m < M && n < N) got[m * N + n] = all[i];
        else expect(all[i], `element ${i} outside the output window`).toBeNaN();
      }
      const ref = intLinearRef(intLinearAccRef(xCodes, zx, wq.codes, wq.zeroPoint, M, N, K), sxv, T, swv, bias, M, N);
      // The accumulator is exact (|acc| < 2^24); s * sw * acc + bias rounds 3 times in f32 on
      // outputs of magnitude < 4: within 1e-6 absolute plus 1e-6 relative.
      expectClose(got, ref, 1e-6, 1e-6, 'int-linear');
      for (const t of [x, sx, zxt, bt, out]) t.release();
      weight.release();
    });
  }

  it('rejects token counts that do not divide the rows and K past the overflow bound', async () => {
    const ctx = await testContext();
    const wq = weightQuant(3, 8, 4, new Float32Array(3).fill(1));
    const weight = uploadPackedWeight(ctx, wq, 'w');
    const x = ctx.upload(new Uint32Array(10), [5, 2], 'x');
    const sx = ctx.upload(new Float32Array(2).fill(1), [2], 'sx');
    const zxt = ctx.upload(Float32Array.of(3), [1], 'zx');
    expect(() => intLinear(ctx, { x, rows: 5, tokens: 2, inputScale: sx, inputZeroPoint: zxt, weight })).toThrow(/2 tokens do not divide 5 rows/);
    const big = intLinearMaxInputs(8) + 1;
    const wide = { ...weight, bits: 8, cols: big };
    expect(() => intLinear(ctx, { x, rows: 1, tokens: 1, inputScale: zxt, inputZeroPoint: zxt, weight: wide })).toThrow(/overflow/);
    for (const t of [x, sx, zxt]) t.release();
    weight.release();
  });
});
