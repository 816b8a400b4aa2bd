import { afterAll, describe, expect, it } from 'vitest';
import { kSlices, linear, matmul } from '../../src/ops/matmul.js';
import { GPU_FILL_WORKGROUPS, type GpuContext, type Tensor } from '../../src/runtime/context.js';
import { createNodeContext } from '../../src/runtime/node-gpu.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { linearRef, matmulRef } from '../reference/matmul.js';

describe('matmul', () => {
  // Shapes include 1, primes and sizes that are not multiples of the 8x8 tile one invocation computes.
  const linearCases: [number, number, number][] = [
    [1, 1, 1], [3, 5, 7], [33, 17, 29], [50, 64, 192], [97, 130, 61], [64, 256, 64],
  ];
  for (const [rows, inF, outF] of linearCases) {
    for (const withBias of [true, false]) {
      it(`linear rows=${rows} in=${inF} out=${outF} bias=${withBias}`, async () => {
        const ctx = await testContext();
        const x = randomData(rows * inF);
        const w = randomData(outF * inF, 0.5);
        const b = randomData(outF);
        const xt = ctx.upload(x, [rows, inF], 'x');
        const wt = ctx.upload(w, [outF, inF], 'w');
        const bt = ctx.upload(b, [outF], 'b');
        const y = linear(ctx, xt, wt, withBias ? bt : null, 'y');
        const got = await ctx.read(y);
        expectClose(got, linearRef(x, w, withBias ? b : null, rows, inF, outF), 1e-5, 1e-5, 'linear');
        for (const t of [xt, wt, bt, y]) t.release();
      });
    }
  }

  it('batched A.B^T via strides with alpha and offsets', async () => {
    const ctx = await testContext();
    const [batch, M, N, K] = [3, 13, 9, 11];
    const a = randomData(batch * M * K);
    const bT = randomData(batch * N * K); // stored as [batch, N, K]; used transposed
    const at = ctx.upload(a, [batch, M, K], 'a');
    // Place B^T after 5 padding elements to exercise b_off.
    const padded = new Float32Array(5 + bT.length);
    padded.set(bT, 5);
    const bt = ctx.upload(padded, [padded.length], 'b');
    const c = ctx.empty([batch, M, N], 'c');
    matmul(ctx, {
      M, N, K, batch, alpha: 0.25,
      a: { tensor: at, rowStride: K, colStride: 1, batchStride: M * K },
      b: { tensor: bt, offset: 5, rowStride: 1, colStride: K, batchStride: N * K },
      c: { tensor: c, rowStride: N, batchStride: M * N },
    });
    const b = new Float64Array(batch * K * N);
    for (let bi = 0; bi < batch; bi++) for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) b[bi * K * N + k * N + n] = bT[bi * N * K + n * K + k];
    expectClose(await ctx.read(c), matmulRef(a, b, batch, M, N, K, 0.25), 1e-5, 1e-5, 'batched');
    for (const t of [at, bt, c]) t.release();
  });

  it('accumulate: C += A.B from C, and a product split over K adds up to the same bits as one', async () => {
    const ctx = await testContext();
    // A^T.B over 23 rows (the Gram form x^T x of calibration), rows split 10 + 13.
    const [M, N, K] = [13, 9, 23];
    const x = randomData(K * M);
    const y = randomData(K * N);
    const c0 = randomData(M * N);
    const [xt, yt] = [ctx.upload(x, [K, M], 'x'), ctx.upload(y, [K, N], 'y')];
    const product = (c: Tensor, k0: number, k: number) =>
      matmul(ctx, {
        M, N, K: k, accumulate: true,
        a: { tensor: xt, offset: k0 * M, rowStride: 1, colStride: M },
        b: { tensor: yt, offset: k0 * N, rowStride: N, colStride: 1 },
        c: { tensor: c, rowStride: N },
      });
    const onto = ctx.upload(c0, [M, N], 'c0');
    product(onto, 0, K);
    const xT = new Float64Array(M * K);
    for (let k = 0; k < K; k++) for (let m = 0; m < M; m++) xT[m * K + k] = x[k * M + m];
    const ref = matmulRef(xT, y, 1, M, N, K).map((v, i) => v + c0[i]);
    expectClose(await ctx.read(onto), ref, 1e-5, 1e-5, 'C0 + A.B');
    const [whole, split] = [ctx.empty([M, N], 'whole'), ctx.empty([M, N], 'split')];
    ctx.clear(whole);
    ctx.clear(split);
    product(whole, 0, K);
    product(split, 0, 10);
    product(split, 10, K - 10);
    expect(Array.from(await ctx.read(split))).toEqual(Array.from(await ctx.read(whole)));
    expect(() => matmul(ctx, { M, N, K, accumulate: true, alpha: 2, a: { tensor: xt, rowStride: 1, colStride: M }, b: { tensor: yt, rowStride: N, colStride: 1 }, c: { tensor: whole, rowStride: N } })).toThrow(/accumulate/);
    for (const t of [xt, yt, onto, whole, split]) t.release();
  });

  // A context that splits as on a GPU, whatever the adapter (a CPU adapter never splits).
  let gpuShaped: Promise<GpuContext> | null = null;
  const splittingContext = () => (gpuShaped ??= createNodeContext({ poison: true, tuning: 'gpu' }));
  afterAll(async () => {
    await (await gpuShaped)?.dispose();
  });

  // Few output tiles over a long K: the product runs as K-slices added by sum-slices. [M, N, K, slices]:
  // slices that divide K, a shorter last slice, and a weight-gradient shape (dW = dY^T.X) whose A is
  // read transposed, into a strided C with an offset, with alpha and bias.
  for (const [M, N, K, slices] of [
    [13, 17, 1000, 32],
    [5, 3, 257, 9],
    [40, 24, 1536, 48],
  ] as const) {
    it(`split over K: ${M}x${N}, K=${K} as ${slices} slices`, async () => {
      const ctx = await splittingContext();
      expect(kSlices({ M, N, K }, ctx.fillWorkgroups).count).toBe(slices);
      const aT = randomData(K * M); // stored [K, M], used as A = aT^T
      const b = randomData(K * N);
      const bias = randomData(N);
      const [rowStride, offset] = [N + 3, 2];
      const c = ctx.upload(randomData(offset + M * rowStride), [offset + M * rowStride], 'c');
      const before = await ctx.read(c);
      const [at, bt, biasT] = [ctx.upload(aT, [K, M], 'aT'), ctx.upload(b, [K, N], 'b'), ctx.upload(bias, [N], 'bias')];
      matmul(ctx, {
        M, N, K, alpha: -0.5, bias: biasT,
        a: { tensor: at, rowStride: 1, colStride: M },
        b: { tensor: bt, rowStride: N, colStride: 1 },
        c: { tensor: c, offset, rowStride },
      });
      const got = await ctx.read(c);
      const a = new Float64Array(M * K);
      for (let k = 0; k < K; k++) for (let m = 0; m < M; m++) a[m * K + k] = aT[k * M + m];
      const ref = matmulRef(a, b, 1, M, N, K, -0.5).map((v, i) => v + bias[i % N]);
      const rows: number[] = [];
      for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) rows.push(got[offset + m * rowStride + n]);
      expectClose(rows, ref, 2e-5, 1e-5, 'split product');
      // C's padding between rows and before the offset is left alone.
      for (let i = 0; i < got.length; i++) if (i < offset || (i - offset) % rowStride >= N) expect(got[i]).toBe(before[i]);
      for (const t of [at, bt, biasT, c]) t.release();
    });
  }

  it('splits only single products with few tiles and a long K, into enough workgroups', () => {
    const workgroups = (M: number, N: number, K: number) => Math.ceil((kSlices({ M, N, K }, GPU_FILL_WORKGROUPS).count * Math.ceil(M / 8) * Math.ceil(N / 8)) / 64);
    // DeiT-S at batch 32: attn.proj's weight gradient and the head's two products.
    for (const [M, N, K] of [[384, 384, 6304], [32, 1000, 384], [32, 384, 1000]]) expect(workgroups(M, N, K)).toBeGreaterThanOrEqual(64);
    expect(kSlices({ M: 6304, N: 384, K: 384 }, GPU_FILL_WORKGROUPS).count).toBe(1);
    expect(kSlices({ M: 13, N: 17, K: 1000, batch: 4 }, GPU_FILL_WORKGROUPS).count).toBe(1);
    expect(kSlices({ M: 13, N: 17, K: 1000, accumulate: true }, GPU_FILL_WORKGROUPS).count).toBe(1);
    expect(kSlices({ M: 13, N: 17, K: 63 }, GPU_FILL_WORKGROUPS).count).toBe(1);
    const { count, sliceK } = kSlices({ M: 32, N: 384, K: 1000 }, GPU_FILL_WORKGROUPS);
    expect((count - 1) * sliceK).toBeLessThan(1000);
    expect(count * sliceK).toBeGreaterThanOrEqual(1000);
  });

  it('never splits on a CPU adapter, where any dispatch keeps its few threads busy', async () => {
    const ctx = await testContext();
    expect(ctx.fillWorkgroups).toBe(1);
    expect(kSlices({ M: 13, N: 17, K: 1000 }, ctx.fillWorkgroups).count).toBe(1);
  });

  it('rejects an input whose last dimension does not match', async () => {
    const ctx = await testContext();
    const x = ctx.upload(randomData(10), [2, 5], 'x');
    const w = ctx.upload(randomData(12), [3, 4], 'w');
    expect(() => linear(ctx, x, w, null, 'y')).toThrow(/does not end in 4/);
    x.release();
    w.release();
  });
});
