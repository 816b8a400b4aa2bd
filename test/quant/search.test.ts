/**
 * The GPU calibration searches pick the same quantizers as the independent float64 CPU search
 * (test/reference/calibration-search.ts) on small random problems.
 */
import { describe, expect, it } from 'vitest';
import { searchConv, searchLinear, searchMatmul } from '../../src/quant/search.js';
import { qkvPerHeadToken } from '../../src/quant/views.js';
import { uniforms } from '../../src/util/prng.js';
import { testContext } from '../helpers/gpu.js';
import * as ref from '../reference/calibration-search.js';

let stream = 900;
/** Skewed random data (like activations): mostly small, a few large values. */
function skewed(n: number, scale: number): Float32Array {
  const u = uniforms(21, stream++, n);
  const v = uniforms(22, stream++, n);
  return Float32Array.from(u, (x, i) => scale * (2 * x - 1) * (v[i] > 0.95 ? 4 : 1));
}

describe('GPU calibration search vs float64 reference', () => {
  for (const [wbits, abits] of [[4, 4], [3, 3]]) {
    it(`linear layer W${wbits}A${abits}`, async () => {
      const ctx = await testContext();
      const [samples, tokens, K, O] = [3, 5, 8, 6];
      const N = samples * tokens;
      const x = skewed(N * K, 1.5);
      const w = skewed(O * K, 0.4);
      const bias = skewed(O, 0.1);
      const t = { x: ctx.upload(x, [N, K], 'x'), w: ctx.upload(w, [O, K], 'w'), b: ctx.upload(bias, [O], 'b') };
      const got = await searchLinear(ctx, { x: t.x, xHost: x, w: t.w, wHost: w, bias: t.b, wbits, abits, eqN: 128, rounds: 3 });
      const want = ref.searchLinear(x, w, bias, K, tokens, wbits, abits, 3);
      expect(Array.from(got.weight.scale)).toEqual(Array.from(want.weightScale));
      expect(Array.from(got.weight.zeroPoint)).toEqual(Array.from(want.weightZeroPoint));
      expect(got.input.scale[0]).toBe(Math.fround(want.activationScale));
      expect(got.input.zeroPoint[0]).toBe(want.activationZeroPoint);
      for (const v of Object.values(t)) v.release();
    });
  }

  it('q.k^T per head from a fused qkv tensor, 4 bits', async () => {
    const ctx = await testContext();
    const [images, T, H, hd, bits] = [2, 6, 2, 4, 4];
    const D = H * hd;
    const qkv = skewed(images * T * 3 * D, 2);
    const qkvT = ctx.upload(qkv, [images, T, 3 * D], 'qkv');
    // Float reference product [images, H, T, T] and the per-head operands for the CPU search.
    const product = new Float32Array(images * H * T * T);
    const a: Float32Array[] = [];
    const b: Float32Array[] = [];
    for (let h = 0; h < H; h++) {
      const ah = new Float32Array(images * T * hd);
      const bh = new Float32Array(images * hd * T);
      for (let img = 0; img < images; img++)
        for (let i = 0; i < T; i++)
          for (let d = 0; d < hd; d++) {
            ah[(img * T + i) * hd + d] = qkv[(img * T + i) * 3 * D + h * hd + d];
            bh[(img * hd + d) * T + i] = qkv[(img * T + i) * 3 * D + D + h * hd + d];
          }
      a.push(ah);
      b.push(bh);
      for (let img = 0; img < images; img++)
        for (let i = 0; i < T; i++)
          for (let j = 0; j < T; j++) {
            let acc = 0;
            for (let d = 0; d < hd; d++) acc += ah[(img * T + i) * hd + d] * bh[(img * hd + d) * T + j];
            product[((img * H + h) * T + i) * T + j] = acc;
          }
    }
    const refT = ctx.upload(product, [product.length], 'product');
    const got = await searchMatmul(ctx, {
      M: T, N: T, K: hd, images, heads: H, bits, rounds: 3,
      reference: { tensor: refT, rowStride: T, colStride: 1, batchStride: H * T * T, innerStride: T * T },
      a: { operand: { tensor: qkvT, rowStride: 3 * D, colStride: 1, batchStride: T * 3 * D, innerStride: hd }, host: qkv, view: qkvPerHeadToken(images, T, H, hd, 0) },
      b: { operand: { tensor: qkvT, offset: D, rowStride: 1, colStride: 3 * D, batchStride: T * 3 * D, innerStride: hd }, host: qkv, view: qkvPerHeadToken(images, T, H, hd, 1) },
    });
    const want = ref.searchMatmulPair(a, b, { batch: images, m: T, k: hd, n: T }, bits, 3);
    expect(Array.from(got.a.scale)).toEqual(Array.from(want.finalA.scale));
    expect(Array.from(got.a.zeroPoint)).toEqual(Array.from(want.finalA.zeroPoint));
    expect(Array.from(got.b.scale)).toEqual(Array.from(want.finalB.scale));
    expect(Array.from(got.b.zeroPoint)).toEqual(Array.from(want.finalB.zeroPoint));
    qkvT.release();
    refT.release();
  });

  it('patch-embedding conv weights, 4 bits', async () => {
    const ctx = await testContext();
    const [samples, patchesPer, K, O, bits] = [2, 9, 16, 5, 4];
    const N = samples * patchesPer;
    const patches = skewed(N * K, 1);
    const w = skewed(O * K, 0.3);
    const pT = ctx.upload(patches, [N, K], 'patches');
    const wT = ctx.upload(w, [O, K], 'w');
    const got = await searchConv(ctx, pT, wT, w, bits, 3);
    const want = ref.searchConv(w, patches, null, K, patchesPer, bits, 3);
    expect(Array.from(got.scale)).toEqual(Array.from(want.final.scale));
    expect(Array.from(got.zeroPoint)).toEqual(Array.from(want.final.zeroPoint));
    pT.release();
    wT.release();
  });
});
