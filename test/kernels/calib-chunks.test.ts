/**
 * The calibration losses over data that comes in chunks of whole images (calibration captures
 * under a binding limit) give the same bits as over one tensor: each continues the sums of the
 * chunks before it in image order. calib-losses.test.ts checks the values against float64 loops.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { calibLinearInputLoss } from '../../src/ops/calib-linear-input-loss.js';
import { calibLinearWeightLoss } from '../../src/ops/calib-linear-weight-loss.js';
import { MatmulLossSums, calibMatmulLoss, transposed } from '../../src/ops/calib-matmul-loss.js';
import { calibSelfLoss, calibSelfLossOverChunks } from '../../src/ops/calib-self-loss.js';
import type { GpuContext, Tensor } from '../../src/runtime/context.js';
import { createNodeContext } from '../../src/runtime/node-gpu.js';
import { uniforms } from '../../src/util/prng.js';
import { randomData, testContext } from '../helpers/gpu.js';

let stream = 700;
const draw = (n: number, lo: number, hi: number) => Float32Array.from(uniforms(41, stream++, n), (u) => lo + (hi - lo) * u);
const zps = (n: number, bits: number) => Float32Array.from(uniforms(42, stream++, n), (u) => Math.floor(u * 2 ** bits));

/** Rows [from, from + rows) of a host array of rows of `size` floats, uploaded. */
const rowsOf = (ctx: GpuContext, data: Float32Array, size: number, chunkRows: number[]): Tensor[] => {
  let from = 0;
  return chunkRows.map((n) => {
    const t = ctx.upload(data.subarray(from * size, (from + n) * size), [n, size], `rows ${from}`);
    from += n;
    return t;
  });
};

const bits = async (ctx: GpuContext, t: Tensor) => Array.from(await ctx.read(t));

describe('calib-self-loss over chunks', () => {
  it('per channel and per tensor: the same bits as one tensor', async () => {
    const ctx = await testContext();
    const [N, D, C, b] = [37, 6, 5, 4];
    const v = randomData(N * D, 2);
    const whole = ctx.upload(v, [N, D], 'v');
    const chunks = rowsOf(ctx, v, D, [10, 20, 7]);
    for (const [rows, layout] of [
      [D, (n: number) => ({ rows: D, len: n, rowStride: 1, elementStride: D })],
      [1, (n: number) => ({ rows: 1, len: n * D, rowStride: 0, elementStride: 1 })],
    ] as const) {
      const [s, z] = [ctx.upload(draw(rows * C, 0.05, 0.5), [rows * C], 's'), ctx.upload(zps(rows * C, b), [rows * C], 'z')];
      const one = calibSelfLoss(ctx, whole, layout(N), s, z, C, b);
      const parts = calibSelfLossOverChunks(ctx, chunks.map((t) => ({ v: t, layout: layout(t.shape[0]) })), s, z, C, b);
      expect(await bits(ctx, parts)).toEqual(await bits(ctx, one));
      for (const t of [s, z, one, parts]) t.release();
    }
    for (const t of [whole, ...chunks]) t.release();
  });
});

describe('calib-matmul-loss over chunks of images', () => {
  it('q.k^T and the transposed product: the same bits as one dispatch over all images', async () => {
    const ctx = await testContext();
    const [images, T, H, hd, C, b] = [5, 7, 2, 5, 6, 4];
    const D = H * hd;
    const qkv = randomData(images * T * 3 * D, 2);
    const ref = randomData(images * H * T * T, 3);
    const [s, z] = [ctx.upload(draw(H * C, 0.05, 0.4), [H * C], 's'), ctx.upload(zps(H * C, b), [H * C], 'z')];
    const q = { rowStride: 3 * D, colStride: 1, batchStride: T * 3 * D, innerStride: hd };
    const kT = { offset: D, rowStride: 1, colStride: 3 * D, batchStride: T * 3 * D, innerStride: hd };
    const product = { rowStride: T, colStride: 1, batchStride: H * T * T, innerStride: T * T };
    const shape = { M: T, N: T, K: hd, heads: H, candScale: s, candZeroPoint: z, count: C, bits: b };
    const whole = { qkv: ctx.upload(qkv, [images, T, 3 * D], 'qkv'), ref: ctx.upload(ref, [images, H, T, T], 'ref') };
    const split = [2, 2, 1];
    const chunks = { qkv: rowsOf(ctx, qkv, T * 3 * D, split), ref: rowsOf(ctx, ref, H * T * T, split) };
    for (const searched of ['q', 'k'] as const) {
      const operands = (t: { qkv: Tensor; ref: Tensor }, n: number) => {
        const [a, bOp] = [{ ...q, tensor: t.qkv }, { ...kT, tensor: t.qkv }];
        const reference = { ...product, tensor: t.ref };
        return searched === 'q'
          ? { images: n, a, b: bOp, reference }
          : { images: n, a: transposed(bOp), b: transposed(a), reference: { ...reference, rowStride: 1, colStride: T } };
      };
      const one = calibMatmulLoss(ctx, { ...shape, ...operands(whole, images) });
      const sums = new MatmulLossSums(ctx, shape);
      split.forEach((n, i) => sums.add(operands({ qkv: chunks.qkv[i], ref: chunks.ref[i] }, n)));
      const parts = sums.finish();
      expect(await bits(ctx, parts)).toEqual(await bits(ctx, one));
      one.release();
      parts.release();
    }
    for (const t of [s, z, whole.qkv, whole.ref, ...chunks.qkv, ...chunks.ref]) t.release();
  });
});

describe('calib-linear-input-loss over chunks of rows', () => {
  it('the same bits as one tensor', async () => {
    const ctx = await testContext();
    const [N, K, O, C, b] = [50, 16, 13, 11, 4];
    const x = randomData(N * K, 2);
    const y = randomData(N * O, 2);
    const t = [ctx.upload(randomData(O * K, 0.5), [O, K], 'w'), ctx.upload(randomData(O, 0.2), [O], 'b'), ctx.upload(draw(C, 0.05, 0.5), [C], 's'), ctx.upload(zps(C, b), [C], 'z')];
    const [xt, yt] = [ctx.upload(x, [N, K], 'x'), ctx.upload(y, [N, O], 'y')];
    const split = [20, 20, 10];
    const [xs, ys] = [rowsOf(ctx, x, K, split), rowsOf(ctx, y, O, split)];
    const one = await calibLinearInputLoss(ctx, xt, t[0], t[1], yt, t[2], t[3], b);
    const parts = await calibLinearInputLoss(ctx, xs, t[0], t[1], ys, t[2], t[3], b);
    expect(Array.from(parts)).toEqual(Array.from(one));
    for (const v of [...t, xt, yt, ...xs, ...ys]) v.release();
  });
});

describe('calib-linear-weight-loss in blocks of output channels', () => {
  let limited: GpuContext | null = null;
  afterAll(async () => limited?.dispose());

  it('under a binding limit: the same bits as in one block', async () => {
    const ctx = await testContext();
    const [K, O, C, b] = [9, 7, 5, 3];
    // 2 channels' candidate errors, [2 * C, K] floats, fit 400 bytes: blocks of 2, 2, 2 and 1.
    limited = await createNodeContext({ poison: true, maxBindingBytes: 400 });
    const data = [randomData(O * K, 0.6), randomData(K * K, 2), randomData(K * O, 2), draw(O * C, 0.05, 0.4), zps(O * C, b)];
    const shapes = [[O, K], [K, K], [K, O], [O * C], [O * C]];
    const losses: number[][] = [];
    for (const c of [ctx, limited]) {
      const t = data.map((d, i) => c.upload(d, shapes[i], `t${i}`));
      const loss = calibLinearWeightLoss(c, t[0], t[1], t[2], t[3], t[4], C, b);
      losses.push(await bits(c, loss));
      for (const v of [...t, loss]) v.release();
    }
    expect(losses[1]).toEqual(losses[0]);
  });
});
