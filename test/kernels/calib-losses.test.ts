/**
 * The calibration-search loss kernels against direct float64 loops. Each kernel has its own
 * describe block; candidates are random (scale, zero-point) pairs, inputs seeded random data.
 */
import { describe, expect, it } from 'vitest';
import { calibCandidateErrors } from '../../src/ops/calib-candidate-errors.js';
import { calibLinearInputLoss } from '../../src/ops/calib-linear-input-loss.js';
import { calibLinearWeightLoss } from '../../src/ops/calib-linear-weight-loss.js';
import { calibMatmulLoss, transposed } from '../../src/ops/calib-matmul-loss.js';
import { calibSelfLoss } from '../../src/ops/calib-self-loss.js';
import { reduceSum } from '../../src/ops/reduce-sum.js';
import { rowSqDiff } from '../../src/ops/row-sq-diff.js';
import { uniforms } from '../../src/util/prng.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { fakeQuantValue } from '../reference/fake-quant.js';

let stream = 500;
const draw = (n: number, lo: number, hi: number) => Float32Array.from(uniforms(31, stream++, n), (u) => lo + (hi - lo) * u);
const zps = (n: number, bits: number) => Float32Array.from(uniforms(32, stream++, n), (u) => Math.floor(u * 2 ** bits));

describe('reduce-sum', () => {
  for (const [rows, cols] of [[1, 1], [3, 1000], [129, 777]]) {
    it(`${rows}x${cols}`, async () => {
      const ctx = await testContext();
      const x = randomData(rows * cols);
      const xt = ctx.upload(x, [rows * cols], 'x');
      const out = reduceSum(ctx, xt, rows, 'sum');
      const ref = Array.from({ length: rows }, (_, r) => x.subarray(r * cols, (r + 1) * cols).reduce((a, b) => a + b, 0));
      expectClose(await ctx.read(out), ref, 1e-5, 1e-6, 'row sums');
      xt.release();
      out.release();
    });
  }
});

describe('calib-self-loss', () => {
  it('weight rows, strided channels and a whole tensor', async () => {
    const ctx = await testContext();
    const [N, D, C, bits] = [37, 6, 5, 4];
    const v = randomData(N * D, 2);
    const vt = ctx.upload(v, [N * D], 'v');
    for (const layout of [
      { rows: N, len: D, rowStride: D, elementStride: 1 },
      { rows: D, len: N, rowStride: 1, elementStride: D },
      { rows: 1, len: N * D, rowStride: 0, elementStride: 1 },
    ]) {
      const s = draw(layout.rows * C, 0.05, 0.5);
      const z = zps(layout.rows * C, bits);
      const [st, zt] = [ctx.upload(s, [s.length], 's'), ctx.upload(z, [z.length], 'z')];
      const loss = calibSelfLoss(ctx, vt, layout, st, zt, C, bits);
      const ref: number[] = [];
      for (let r = 0; r < layout.rows; r++)
        for (let c = 0; c < C; c++) {
          let acc = 0;
          for (let k = 0; k < layout.len; k++) {
            const x = v[r * layout.rowStride + k * layout.elementStride];
            acc += (fakeQuantValue(x, s[r * C + c], z[r * C + c], bits) - x) ** 2;
          }
          ref.push(acc);
        }
      expectClose(await ctx.read(loss), ref, 1e-6, 1e-4, `self loss rows=${layout.rows}`);
      for (const t of [st, zt, loss]) t.release();
    }
    vt.release();
  });
});

describe('calib-linear-weight-loss', () => {
  it('equals the direct layer-output error up to the per-channel constant', async () => {
    const ctx = await testContext();
    const [N, K, O, C, bits] = [41, 9, 6, 7, 3];
    const xq = randomData(N * K, 1.5);
    const w = randomData(O * K, 0.6);
    const bias = randomData(O, 0.1);
    const y = randomData(N * O, 2);
    const s = draw(O * C, 0.05, 0.4);
    const z = zps(O * C, bits);
    // r = y - bias - xq w^T, gram = xq^T xq, cross = xq^T r (float64, then float32 for upload).
    const r = new Float64Array(N * O);
    for (let n = 0; n < N; n++)
      for (let o = 0; o < O; o++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += xq[n * K + k] * w[o * K + k];
        r[n * O + o] = y[n * O + o] - bias[o] - acc;
      }
    const gram = new Float32Array(K * K);
    const cross = new Float32Array(K * O);
    for (let k = 0; k < K; k++) {
      for (let l = 0; l < K; l++) {
        let acc = 0;
        for (let n = 0; n < N; n++) acc += xq[n * K + k] * xq[n * K + l];
        gram[k * K + l] = acc;
      }
      for (let o = 0; o < O; o++) {
        let acc = 0;
        for (let n = 0; n < N; n++) acc += xq[n * K + k] * r[n * O + o];
        cross[k * O + o] = acc;
      }
    }
    const t = [ctx.upload(w, [O, K], 'w'), ctx.upload(gram, [K, K], 'gram'), ctx.upload(cross, [K, O], 'cross'), ctx.upload(s, [O * C], 's'), ctx.upload(z, [O * C], 'z')];
    const loss = await ctx.read(calibLinearWeightLoss(ctx, t[0], t[1], t[2], t[3], t[4], C, bits));
    for (let o = 0; o < O; o++) {
      let constant = 0;
      for (let n = 0; n < N; n++) constant += r[n * O + o] ** 2;
      for (let c = 0; c < C; c++) {
        let direct = 0;
        for (let n = 0; n < N; n++) {
          let acc = bias[o] - y[n * O + o];
          for (let k = 0; k < K; k++) acc += xq[n * K + k] * fakeQuantValue(w[o * K + k], s[o * C + c], z[o * C + c], bits);
          direct += acc * acc;
        }
        expect(Math.abs(loss[o * C + c] + constant - direct)).toBeLessThan(1e-3 * Math.max(1, direct));
      }
    }
    for (const x of t) x.release();
  });
});

describe('calib-linear-input-loss', () => {
  for (const [N, K, O] of [[5, 3, 2], [50, 16, 13], [67, 33, 9]]) {
    it(`N=${N} K=${K} O=${O}`, async () => {
      const ctx = await testContext();
      const [C, bits] = [11, 4];
      const x = randomData(N * K, 2);
      const w = randomData(O * K, 0.5);
      const bias = randomData(O, 0.2);
      const y = randomData(N * O, 2);
      const s = draw(C, 0.05, 0.5);
      const z = zps(C, bits);
      const t = [ctx.upload(x, [N, K], 'x'), ctx.upload(w, [O, K], 'w'), ctx.upload(bias, [O], 'b'), ctx.upload(y, [N, O], 'y'), ctx.upload(s, [C], 's'), ctx.upload(z, [C], 'z')];
      const loss = await calibLinearInputLoss(ctx, t[0], t[1], t[2], t[3], t[4], t[5], bits);
      const ref: number[] = [];
      for (let c = 0; c < C; c++) {
        let total = 0;
        for (let n = 0; n < N; n++)
          for (let o = 0; o < O; o++) {
            let acc = bias[o] - y[n * O + o];
            for (let k = 0; k < K; k++) acc += fakeQuantValue(x[n * K + k], s[c], z[c], bits) * w[o * K + k];
            total += acc * acc;
          }
        ref.push(total);
      }
      expectClose(loss, ref, 1e-4, 1e-4, 'input-candidate losses');
      for (const v of t) v.release();
    });
  }
});

describe('calib-matmul-loss', () => {
  // q.k^T per head from a fused qkv tensor; the searched operand is q (as `a`), or k through the
  // transposed product. The fixed operand is passed already quantized.
  for (const searched of ['q', 'k'] as const) {
    it(`q.k^T per head from a fused qkv tensor, searching ${searched}`, async () => {
      const ctx = await testContext();
      const [images, T, H, hd, C, bits] = [3, 7, 2, 5, 6, 4];
      const D = H * hd;
      const qkv = randomData(images * T * 3 * D, 2);
      const at = (b: number, t: number, part: number, h: number, d: number) => (b * T + t) * 3 * D + part * D + h * hd + d;
      const ref = new Float32Array(images * H * T * T);
      for (let b = 0; b < images; b++)
        for (let h = 0; h < H; h++)
          for (let i = 0; i < T; i++)
            for (let j = 0; j < T; j++) {
              let acc = 0;
              for (let d = 0; d < hd; d++) acc += qkv[at(b, i, 0, h, d)] * qkv[at(b, j, 1, h, d)];
              ref[((b * H + h) * T + i) * T + j] = acc;
            }
      const s = draw(H * C, 0.05, 0.4);
      const z = zps(H * C, bits);
      const t = { qkv: ctx.upload(qkv, [qkv.length], 'qkv'), ref: ctx.upload(ref, [ref.length], 'ref'), s: ctx.upload(s, [H * C], 's'), z: ctx.upload(z, [H * C], 'z') };
      const q = { tensor: t.qkv, rowStride: 3 * D, colStride: 1, batchStride: T * 3 * D, innerStride: hd };
      const kT = { tensor: t.qkv, offset: D, rowStride: 1, colStride: 3 * D, batchStride: T * 3 * D, innerStride: hd };
      const product = { tensor: t.ref, rowStride: T, colStride: 1, batchStride: H * T * T, innerStride: T * T };
      const loss = calibMatmulLoss(ctx, {
        M: T, N: T, K: hd, images, heads: H, candScale: t.s, candZeroPoint: t.z, count: C, bits,
        ...(searched === 'q'
          ? { a: q, b: kT, reference: product }
          : { a: transposed(kT), b: transposed(q), reference: { ...product, rowStride: 1, colStride: T } }),
      });
      const expected: number[] = [];
      for (let h = 0; h < H; h++)
        for (let c = 0; c < C; c++) {
          let total = 0;
          for (let b = 0; b < images; b++)
            for (let i = 0; i < T; i++)
              for (let j = 0; j < T; j++) {
                let acc = -ref[((b * H + h) * T + i) * T + j];
                for (let d = 0; d < hd; d++) {
                  const qv = qkv[at(b, i, 0, h, d)];
                  const kv = qkv[at(b, j, 1, h, d)];
                  acc += searched === 'q' ? fakeQuantValue(qv, s[h * C + c], z[h * C + c], bits) * kv : qv * fakeQuantValue(kv, s[h * C + c], z[h * C + c], bits);
                }
                total += acc * acc;
              }
          expected.push(total);
        }
      expectClose(await ctx.read(loss), expected, 1e-4, 1e-4, 'matmul candidate losses');
      for (const v of [...Object.values(t), loss]) v.release();
    });
  }
});

describe('calib-candidate-errors', () => {
  it('materializes fq(v; c) - v for a chunk of each group candidates', async () => {
    const ctx = await testContext();
    const [G, len, C, bits] = [3, 10, 6, 3];
    const v = randomData(G * len, 1.5);
    const s = draw(G * C, 0.05, 0.5);
    const z = zps(G * C, bits);
    const t = [ctx.upload(v, [G * len], 'v'), ctx.upload(s, [G * C], 's'), ctx.upload(z, [G * C], 'z')];
    const out = calibCandidateErrors(ctx, t[0], { rows: G, len, rowStride: len, elementStride: 1 }, t[1], t[2], C, 2, 3, bits);
    const ref: number[] = [];
    for (let g = 0; g < G; g++)
      for (let c = 2; c < 5; c++)
        for (let k = 0; k < len; k++) {
          const x = v[g * len + k];
          ref.push(Math.fround(fakeQuantValue(x, s[g * C + c], z[g * C + c], bits) - x));
        }
    expectClose(await ctx.read(out), ref, 1e-7, 1e-6, 'candidate errors');
    for (const x of [...t, out]) x.release();
  });
});

describe('row-sq-diff', () => {
  it('compares every row with the repeating target rows', async () => {
    const ctx = await testContext();
    const [rows, bRows, cols] = [12, 4, 7];
    const a = randomData(rows * cols, 2);
    const b = randomData(bRows * cols, 2);
    const [at, bt] = [ctx.upload(a, [rows, cols], 'a'), ctx.upload(b, [bRows, cols], 'b')];
    const out = rowSqDiff(ctx, at, bt, cols, 'd');
    const ref = Array.from({ length: rows }, (_, r) => {
      let acc = 0;
      for (let j = 0; j < cols; j++) acc += (a[r * cols + j] - b[(r % bRows) * cols + j]) ** 2;
      return acc;
    });
    expectClose(await ctx.read(out), ref, 1e-6, 1e-5, 'row distances');
    for (const x of [at, bt, out]) x.release();
  });
});
