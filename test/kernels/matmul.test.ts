import { describe, expect, it } from 'vitest';
import { linear, matmul } from '../../src/ops/matmul.js';
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

  it('rejects an input whose last dimension does not match', async () => {
    const ctx = await testContext();
    const x = ctx.upload(randomData(10), [2, 5], 'x');
    const w = ctx.upload(randomData(12), [3, 4], 'w');
    expect(() => linear(ctx, x, w, null, 'y')).toThrow(/does not end in 4/);
    x.release();
    w.release();
  });
});
