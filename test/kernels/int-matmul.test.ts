import { describe, expect, it } from 'vitest';
import { attnValuesOptions, intMatmul, intMatmulKernel, maxExactK, qkScoresOptions, type IntMatmulOptions } from '../../src/ops/int-matmul.js';
import { quantizeCodes, wordsFor } from '../../src/ops/quantize-codes.js';
import { packedAttentionPerHeadRow, packedQkvPerHeadChannelTransposed, packedQkvPerHeadToken } from '../../src/quant/views.js';
import type { GpuContext } from '../../src/runtime/context.js';
import { shaderCodeFor } from '../../src/runtime/kernel.js';
import { readShader } from '../../src/runtime/node-gpu.js';
import { uniforms } from '../../src/util/prng.js';
import { expectClose, portableTestContext, randomData, testContext } from '../helpers/gpu.js';
import { intAccumulatorRef, intMatmulRef, type IntProduct } from '../reference/int-matmul.js';
import { unpackCodes } from '../reference/quantize-codes.js';

let stream = 500;
const draw = (count: number, seed = 31): Float64Array => uniforms(seed, stream++, count);
const ints = (count: number, lo: number, hi: number): number[] => Array.from(draw(count), (u) => lo + Math.floor(u * (hi - lo + 1)));

/** A product with its operands laid out in gapped, offset buffers and batch = outer x inner. */
interface Layout {
  outer: number;
  inner: number;
  M: number;
  N: number;
  K: number;
}

/**
 * Packs rows of K codes (codes[row·K + k]) at word offset + row-dependent starts; padded lanes are 0,
 * words not in any row are random garbage the kernel must not read.
 */
function packRows(codes: ArrayLike<number>, K: number, starts: number[], size: number): Uint32Array {
  const words = Uint32Array.from(draw(size, 37), (u) => Math.floor(u * 2 ** 32));
  starts.forEach((start, row) => {
    for (let w = 0; w < wordsFor(K); w++) {
      let word = 0;
      for (let l = 0; l < 4; l++) {
        const k = 4 * w + l;
        if (k < K) word += codes[row * K + k] * 2 ** (8 * l);
      }
      words[start + w] = word;
    }
  });
  return words;
}

interface Built {
  product: IntProduct;
  /** Scale of A per (z, m) and of B per (z, n), in the reference's order. */
  sa: number[];
  sb: number[];
  options: IntMatmulOptions;
  /** Flat output index of element (z, m, n) in c. */
  cIndex: (z: number, m: number, n: number) => number;
  cSize: number;
  release: () => void;
}

/**
 * Uploads random codes in [0, 2^bits − 1], nonzero zero points (some negative, some above
 * 2^bits − 1, as the method's activation quantizers may have them) and the given scales, laid out with
 * every stride different from the dense one: A rows 1 word apart beyond their length, B shared
 * scales across the outer batch, C rows with gaps.
 */
function build(ctx: GpuContext, l: Layout, bits: number, scaleA: (i: number) => number, scaleB: (i: number) => number): Built {
  const { outer, inner, M, N, K } = l;
  const batch = outer * inner;
  const qmax = 2 ** bits - 1;
  const words = wordsFor(K);
  const a = ints(batch * M * K, 0, qmax);
  const b = ints(batch * N * K, 0, qmax);
  // Zero points: A per product z, B per head zi (shared across the outer batch); never 0; A's
  // include negative ones and ones above qmax (a negative one once read as 0 in the kernel).
  const zaTable = ints(batch, 1, qmax);
  zaTable[0] = -2;
  zaTable[batch - 1] = qmax + 2;
  const zbTable = ints(inner, 1, qmax);
  // Scales: A per (zo, zi, m); B per (zi, n), shared across the outer batch.
  const saTable = Array.from({ length: batch * M }, (_, i) => scaleA(i));
  const sbTable = Array.from({ length: inner * N }, (_, i) => scaleB(i));

  const aRow = words + 1, aIs = M * aRow + 2, aBs = inner * aIs + 1, aOff = 3;
  const bRow = words + 2, bIs = N * bRow, bBs = inner * bIs + 5, bOff = 1;
  const cRow = N + 2, cIs = M * cRow + 1, cBs = inner * cIs + 3, cOff = 2;
  const aStarts: number[] = [];
  const bStarts: number[] = [];
  for (let zo = 0; zo < outer; zo++)
    for (let zi = 0; zi < inner; zi++) {
      for (let m = 0; m < M; m++) aStarts.push(aOff + zo * aBs + zi * aIs + m * aRow);
      for (let n = 0; n < N; n++) bStarts.push(bOff + zo * bBs + zi * bIs + n * bRow);
    }
  const aWords = packRows(a, K, aStarts, aOff + outer * aBs + 1);
  const bWords = packRows(b, K, bStarts, bOff + outer * bBs + 1);
  const cSize = cOff + outer * cBs + 1;
  const t = {
    a: ctx.upload(aWords, [aWords.length], 'a'),
    b: ctx.upload(bWords, [bWords.length], 'b'),
    sa: ctx.upload(Float32Array.from(saTable), [saTable.length], 'sa'),
    sb: ctx.upload(Float32Array.from(sbTable), [sbTable.length], 'sb'),
    za: ctx.upload(Float32Array.from(zaTable), [zaTable.length], 'za'),
    zb: ctx.upload(Float32Array.from(zbTable), [zbTable.length], 'zb'),
    c: ctx.empty([cSize], 'c'),
  };
  const product: IntProduct = {
    batch, M, N, K, a, b,
    za: zaTable,
    zb: Array.from({ length: batch }, (_, zz) => zbTable[zz % inner]),
  };
  const sa = saTable;
  const sb: number[] = [];
  for (let zz = 0; zz < batch; zz++) for (let n = 0; n < N; n++) sb.push(sbTable[(zz % inner) * N + n]);
  return {
    product, sa, sb, cSize,
    cIndex: (zz, m, n) => cOff + Math.floor(zz / inner) * cBs + (zz % inner) * cIs + m * cRow + n,
    options: {
      M, N, K, bits, batch, inner,
      a: {
        tensor: t.a, offset: aOff, rowStride: aRow, innerStride: aIs, batchStride: aBs,
        scale: t.sa, scaleStride: 1, scaleInnerStride: M, scaleBatchStride: inner * M,
        zeroPoint: t.za, zeroPointInnerStride: 1, zeroPointBatchStride: inner,
      },
      b: {
        tensor: t.b, offset: bOff, rowStride: bRow, innerStride: bIs, batchStride: bBs,
        scale: t.sb, scaleStride: 1, scaleInnerStride: N,
        zeroPoint: t.zb, zeroPointInnerStride: 1,
      },
      c: { tensor: t.c, offset: cOff, rowStride: cRow, innerStride: cIs, batchStride: cBs },
    },
    release: () => Object.values(t).forEach((x) => x.release()),
  };
}

/** Reads c and returns the outputs in (z, m, n) order, checking every other element is still poison. */
async function readOutputs(ctx: GpuContext, built: Built): Promise<number[]> {
  const c = await ctx.read(built.options.c.tensor);
  const { batch, M, N } = built.product;
  const out: number[] = [];
  const written = new Set<number>();
  for (let z = 0; z < batch; z++)
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        written.add(built.cIndex(z, m, n));
        out.push(c[built.cIndex(z, m, n)]);
      }
  for (let i = 0; i < c.length; i++) if (!written.has(i)) expect(c[i], `unwritten c[${i}]`).toBeNaN();
  return out;
}

const contexts: [string, () => Promise<GpuContext>][] = [
  ['dot4U8Packed', testContext],
  ['portable', portableTestContext],
];

// [K, M, N]: K = 1, 5, 17, 64 (partial and whole words), M and N primes or 1.
const shapes: [number, number, number][] = [[1, 5, 7], [5, 7, 3], [17, 3, 11], [64, 13, 1]];

describe('int-matmul', () => {
  for (const [variant, context] of contexts) {
    it(`${variant}: compiles the expected shader`, async () => {
      const ctx = await context();
      expect(shaderCodeFor(intMatmulKernel, ctx.languageFeatures, readShader).label).toBe(
        variant === 'dot4U8Packed' ? 'shaders/int-matmul.wgsl' : 'shaders/int-matmul.wgsl polyfilled by shaders/dot4-portable.wgsl',
      );
    });

    for (const bits of [3, 4, 8]) {
      for (const [K, M, N] of shapes) {
        it(`${variant}, ${bits} bits, K=${K} M=${M} N=${N}, 2x3 batch: accumulators exact`, async () => {
          const ctx = await context();
          // Power-of-two scales and alpha keep (alpha·sa·sb)·acc exact while |acc| < 2^24, so the
          // output is the exact integer accumulator, scaled; this also checks every scale index.
          const pow2 = () => 2 ** (Math.floor(draw(1)[0] * 5) - 2);
          const built = build(ctx, { outer: 2, inner: 3, M, N, K }, bits, pow2, pow2);
          built.options.alpha = 0.5;
          intMatmul(ctx, built.options);
          const got = await readOutputs(ctx, built);
          const acc = intAccumulatorRef(built.product);
          expect(Math.max(...acc.map(Math.abs))).toBeLessThan(2 ** 24);
          // Negative accumulators exercise the wrapping u32 expansion.
          expect(acc.some((v) => v < 0) && acc.some((v) => v > 0)).toBe(true);
          const expected = acc.map((v, i) => {
            const z = Math.floor(i / (M * N));
            const m = Math.floor(i / N) % M;
            const n = i % N;
            return 0.5 * built.sa[z * M + m] * built.sb[z * N + n] * v;
          });
          expect(got).toEqual(expected);
          built.release();
        });
      }
    }

    it(`${variant}: scales 1, alpha 1, no bias: the output is the accumulator`, async () => {
      const ctx = await context();
      const built = build(ctx, { outer: 1, inner: 2, M: 6, N: 5, K: 31 }, 8, () => 1, () => 1);
      intMatmul(ctx, built.options);
      expect(await readOutputs(ctx, built)).toEqual(intAccumulatorRef(built.product));
      built.release();
    });

    it(`${variant}: 8 bits, K=2000: large accumulators within one f32 rounding`, async () => {
      const ctx = await context();
      const built = build(ctx, { outer: 1, inner: 2, M: 3, N: 5, K: 2000 }, 8, () => 1, () => 1);
      // Codes far from the zero points push |acc| past 2^24, where the f32 conversion rounds.
      const p = built.product;
      const a = Array.from(p.a, (_, i) => 200 + (i % 56));
      const b = Array.from(p.b, (_, i) => 180 + ((i * 7) % 76));
      const aWords = new Uint32Array(built.options.a.tensor.size);
      const bWords = new Uint32Array(built.options.b.tensor.size);
      const K = p.K;
      const put = (words: Uint32Array, codes: number[], row: number, start: number) => {
        for (let k = 0; k < K; k++) words[start + (k >> 2)] += codes[row * K + k] * 2 ** (8 * (k & 3));
      };
      const o = built.options;
      for (let zi = 0; zi < 2; zi++) {
        for (let m = 0; m < 3; m++) put(aWords, a, zi * 3 + m, o.a.offset! + zi * o.a.innerStride! + m * o.a.rowStride);
        for (let n = 0; n < 5; n++) put(bWords, b, zi * 5 + n, o.b.offset! + zi * o.b.innerStride! + n * o.b.rowStride);
      }
      ctx.write(o.a.tensor, aWords);
      ctx.write(o.b.tensor, bWords);
      // Product 0: both zero points 0 (acc > 0); product 1: za = 255 (acc < 0).
      ctx.write(o.a.zeroPoint, new Float32Array([0, 255]));
      ctx.write(o.b.zeroPoint, new Float32Array([0, 0]));
      intMatmul(ctx, o);
      const got = await readOutputs(ctx, built);
      const acc = intAccumulatorRef({ ...p, a, b, za: [0, 255], zb: [0, 0] });
      expect(Math.max(...acc.map(Math.abs))).toBeGreaterThan(2 ** 26);
      expect(acc.slice(15).every((v) => v < 0)).toBe(true);
      acc.forEach((v, i) => {
        const ulp = 2 ** (Math.floor(Math.log2(Math.abs(v))) - 23);
        expect(Math.abs(got[i] - v), `element ${i}`).toBeLessThanOrEqual(ulp);
      });
      built.release();
    });

    it(`${variant}, 8 bits: real scales, alpha and bias against float64 (relative 2e-6)`, async () => {
      const ctx = await context();
      const built = build(ctx, { outer: 2, inner: 2, M: 7, N: 11, K: 23 }, 8, () => 0.001 + 0.05 * draw(1)[0], () => 0.002 + 0.03 * draw(1)[0]);
      const bias = randomData(11);
      const biasT = ctx.upload(bias, [11], 'bias');
      const alpha = 0.37;
      intMatmul(ctx, { ...built.options, alpha, bias: biasT });
      const got = await readOutputs(ctx, built);
      const sa = Float32Array.from(built.sa);
      const sb = Float32Array.from(built.sb);
      const ref = intMatmulRef(built.product, sa, sb, alpha, bias);
      // f32: alpha rounded once, then three products and the bias sum, each rounded once.
      expectClose(got, ref, 1e-6, 2e-6, 'scaled');
      built.release();
      biasT.release();
    });
  }

  it('q·kᵀ and attn·v from quantize-codes layouts (heads merged) against float64', async () => {
    const ctx = await testContext();
    const [B, T, H, HD, bits] = [2, 7, 3, 5, 8];
    const D = H * HD;
    const qmax = 2 ** bits - 1;
    const qkv = randomData(B * T * 3 * D, 2);
    const map = Float32Array.from(draw(B * H * T * T), (u) => u / T);
    const up = (data: Float32Array, label: string) => ctx.upload(data, [data.length], label);
    const quant = {
      q: { s: Float32Array.from(draw(H * T), (u) => 0.01 + 0.02 * u), z: Float32Array.from(ints(H, 100, 150)) },
      k: { s: Float32Array.from(draw(H * T), (u) => 0.01 + 0.02 * u), z: Float32Array.from(ints(H, 100, 150)) },
      v: { s: Float32Array.from(draw(H * HD), (u) => 0.01 + 0.02 * u), z: Float32Array.from(ints(H, 100, 150)) },
      map: { s: Float32Array.from(draw(H * T), (u) => (0.5 + 0.5 * u) / T / qmax), z: Float32Array.from(ints(H, 1, 3)) },
    };
    const t = {
      qkv: up(qkv, 'qkv'), map: up(map, 'map'),
      qs: up(quant.q.s, 'qs'), qz: up(quant.q.z, 'qz'), ks: up(quant.k.s, 'ks'), kz: up(quant.k.z, 'kz'),
      vs: up(quant.v.s, 'vs'), vz: up(quant.v.z, 'vz'), ms: up(quant.map.s, 'ms'), mz: up(quant.map.z, 'mz'),
    };
    const layouts = {
      q: packedQkvPerHeadToken(B, T, H, HD, 0),
      k: packedQkvPerHeadToken(B, T, H, HD, 1),
      v: packedQkvPerHeadChannelTransposed(B, T, H, HD),
      map: packedAttentionPerHeadRow(B, H, T),
    };
    const codes = {
      q: quantizeCodes(ctx, t.qkv, t.qs, t.qz, bits, layouts.q, 'q'),
      k: quantizeCodes(ctx, t.qkv, t.ks, t.kz, bits, layouts.k, 'k'),
      v: quantizeCodes(ctx, t.qkv, t.vs, t.vz, bits, layouts.v, 'v'),
      map: quantizeCodes(ctx, t.map, t.ms, t.mz, bits, layouts.map, 'mapc'),
    };
    const scores = ctx.empty([B, H, T, T], 'scores');
    const context = ctx.empty([B, T, D], 'context');
    const dims = { batch: B, heads: H, tokens: T, headDim: HD, bits };
    intMatmul(ctx, qkScoresOptions(dims, { codes: codes.q, scale: t.qs, zeroPoint: t.qz }, { codes: codes.k, scale: t.ks, zeroPoint: t.kz }, scores));
    intMatmul(ctx, attnValuesOptions(dims, { codes: codes.map, scale: t.ms, zeroPoint: t.mz }, { codes: codes.v, scale: t.vs, zeroPoint: t.vz }, context));

    // Dequantize the GPU's codes on the host (quantize-codes itself is tested elsewhere) and
    // form both products in float64 with the float attention layouts.
    const deq = async (name: 'q' | 'k' | 'v' | 'map') => {
      const l = layouts[name];
      const c = unpackCodes(await ctx.readU32(codes[name]), l.view.sizes, 0, l.strides).codes;
      const [, n1, n2, n3] = l.view.sizes;
      const out = new Float64Array(c.length);
      for (let i = 0; i < c.length; i++) {
        const i3 = i % n3, i2 = Math.floor(i / n3) % n2, i1 = Math.floor(i / (n3 * n2)) % n1;
        const si = i1 * l.view.scale[1] + i2 * l.view.scale[2] + i3 * l.view.scale[3];
        out[i] = (c[i] - quant[name].z[i1]) * quant[name].s[si];
      }
      return out;
    };
    const q = await deq('q'); // [B, H, T, hd]
    const k = await deq('k'); // [B, H, T, hd]
    const v = await deq('v'); // [B, H, hd, T]
    const a = await deq('map'); // [B, H, T, T]
    const refScores = new Float64Array(B * H * T * T);
    const refContext = new Float64Array(B * T * D);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < T; i++) {
          for (let j = 0; j < T; j++) {
            let s = 0;
            for (let c = 0; c < HD; c++) s += q[((b * H + h) * T + i) * HD + c] * k[((b * H + h) * T + j) * HD + c];
            refScores[((b * H + h) * T + i) * T + j] = s / Math.sqrt(HD);
          }
          for (let c = 0; c < HD; c++) {
            let s = 0;
            for (let j = 0; j < T; j++) s += a[((b * H + h) * T + i) * T + j] * v[((b * H + h) * HD + c) * T + j];
            refContext[(b * T + i) * D + h * HD + c] = s;
          }
        }
    expectClose(await ctx.read(scores), refScores, 1e-6, 2e-6, 'scores');
    expectClose(await ctx.read(context), refContext, 1e-6, 2e-6, 'context');
    for (const x of [...Object.values(t), ...Object.values(codes), scores, context]) x.release();
  });

  it('rejects K beyond the exact accumulator bound and non-code operands', async () => {
    const ctx = await testContext();
    expect(maxExactK(8)).toBe(33025);
    const built = build(ctx, { outer: 1, inner: 1, M: 1, N: 1, K: 4 }, 8, () => 1, () => 1);
    expect(() => intMatmul(ctx, { ...built.options, K: 33026 })).toThrow(/overflows/);
    expect(maxExactK(4)).toBe(9544371);
    expect(() => intMatmul(ctx, { ...built.options, K: 9544372, bits: 4 })).toThrow(/overflows/);
    const f = ctx.upload(new Float32Array(4), [4], 'f');
    expect(() => intMatmul(ctx, { ...built.options, a: { ...built.options.a, tensor: f } })).toThrow(/not packed u32/);
    f.release();
    built.release();
  });
});
