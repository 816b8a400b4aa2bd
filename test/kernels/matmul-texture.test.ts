import { afterAll, describe, expect, it } from 'vitest';
import { linear, matmul } from '../../src/ops/matmul.js';
import { matmulTexture } from '../../src/ops/matmul-texture.js';
import type { CensusEvent, GpuContext } from '../../src/runtime/context.js';
import { createNodeContext } from '../../src/runtime/node-gpu.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { linearRef } from '../reference/matmul.js';

describe('matmul-texture', () => {
  // [M, N, K, A's row stride]: tile edges (M, N not multiples of 8), K over 64 and over 256, a
  // padded row stride, and more rows than a texture is high (they come in blocks side by side).
  for (const [M, N, K, rowStride] of [
    [8, 8, 64, 64],
    [50, 192, 64, 64],
    [97, 13, 256, 256],
    [33, 70, 64, 128],
    [8192 + 37, 9, 64, 64],
  ] as const) {
    it(`A [${M}, ${K}] (row stride ${rowStride}) . B [${N}, ${K}]^T, alpha, bias, into a strided C`, async () => {
      const ctx = await testContext();
      const offset = 16;
      const x = randomData(offset + M * rowStride);
      const w = randomData(N * K, 0.5);
      const bias = randomData(N);
      const [cOffset, cStride] = [3, N + 2];
      const xt = ctx.upload(x, [x.length], 'x');
      const wt = ctx.upload(w, [N, K], 'w');
      const bt = ctx.upload(bias, [N], 'bias');
      const c = ctx.upload(randomData(cOffset + M * cStride), [cOffset + M * cStride], 'c');
      const before = await ctx.read(c);
      const a = ctx.rowTexture(xt, M, K, rowStride, offset, 'a');
      const b = ctx.rowTexture(wt, N, K, K, 0, 'b');
      expect(a.rowsPerBlock).toBe(Math.min(M, ctx.limits.maxTextureDimension2D));
      matmulTexture(ctx, { a, b, c: { tensor: c, offset: cOffset, rowStride: cStride }, bias: bt, alpha: -0.75 });
      a.release();
      b.release();
      const got = await ctx.read(c);
      const rows = new Float64Array(M * K);
      for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) rows[m * K + k] = x[offset + m * rowStride + k];
      const ref = linearRef(rows, w, null, M, K, N).map((v, i) => -0.75 * v + bias[i % N]);
      const out: number[] = [];
      for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) out.push(got[cOffset + m * cStride + n]);
      expectClose(out, ref, 2e-5, 1e-5, 'matmul-texture');
      // C's padding between rows and before the offset is left alone.
      for (let i = 0; i < got.length; i++) if (i < cOffset || (i - cOffset) % cStride >= N) expect(got[i]).toBe(before[i]);
      for (const t of [xt, wt, bt, c]) t.release();
    });
  }

  it('refuses rows the buffer-to-texture copy cannot take', async () => {
    const ctx = await testContext();
    expect(ctx.rowTextureFits(10, 64, 64, 0)).toBe(true);
    expect(ctx.rowTextureFits(10, 16, 16, 0)).toBe(false); // a row stride of 64 bytes, not whole 256-byte lines
    expect(ctx.rowTextureFits(10, 62, 64, 0)).toBe(false); // not whole texels
    expect(ctx.rowTextureFits(10, 64, 64, 2)).toBe(false); // an offset of 8 bytes
    expect(ctx.rowTextureFits(10, 64, 32, 0)).toBe(false); // rows overlapping
    const x = ctx.upload(randomData(64 * 4), [4, 64], 'x');
    expect(() => ctx.rowTexture(x, 5, 64, 64, 0, 'x')).toThrow(/past the end/);
    x.release();
  });

  describe('matmul chooses it with the cpu tuning only', () => {
    const contexts: GpuContext[] = [];
    afterAll(async () => {
      for (const ctx of contexts) await ctx.dispose();
    });
    for (const tuning of ['cpu', 'gpu'] as const) {
      it(`${tuning}: linear of [40, 64] by [64, 64], dY.W through a transposed W, X^T.X through two; batched products stay on matmul`, async () => {
        const kernels: string[] = [];
        const ctx = await createNodeContext({ tuning, census: { observe: (e: CensusEvent) => e.kind === 'dispatch' && kernels.push(e.desc.name) } });
        contexts.push(ctx);
        const [M, N, K] = [40, 64, 64];
        const x = randomData(M * K);
        const w = randomData(N * K);
        const xt = ctx.upload(x, [M, K], 'x');
        const wt = ctx.upload(w, [N, K], 'w');
        const y = linear(ctx, xt, wt, null, 'y');
        expectClose(await ctx.read(y), linearRef(x, w, null, M, K, N), 1e-5, 1e-5, 'linear');
        // (gpu: split along K into slices, as this product has few tiles)
        expect(kernels).toEqual(tuning === 'cpu' ? ['matmul-texture'] : ['matmul', 'sum-slices']);
        kernels.length = 0;
        // dX = dY.W: W read along its rows (B row-major [K, N]); on cpu a transposed copy makes it rows.
        const rows = 64;
        const dy = randomData(rows * N);
        const dyt = ctx.upload(dy, [rows, N], 'dy');
        const dx = ctx.empty([rows, K], 'dx');
        matmul(ctx, { M: rows, N: K, K: N, a: { tensor: dyt, rowStride: N, colStride: 1 }, b: { tensor: wt, rowStride: K, colStride: 1 }, c: { tensor: dx, rowStride: K } });
        const wT = new Float64Array(K * N);
        for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) wT[k * N + n] = w[n * K + k];
        expectClose(await ctx.read(dx), linearRef(dy, wT, null, rows, N, K), 1e-5, 1e-5, 'dY.W');
        expect(kernels.filter((k) => k !== 'sum-slices')).toEqual(tuning === 'cpu' ? ['transpose', 'matmul-texture'] : ['matmul']);
        kernels.length = 0;
        // X^T.X, a weight gradient's form: both operands read along their other side, both transposed on cpu.
        const z = ctx.empty([K, K], 'z');
        matmul(ctx, { M: K, N: K, K: M, a: { tensor: xt, rowStride: 1, colStride: K }, b: { tensor: xt, rowStride: K, colStride: 1 }, c: { tensor: z, rowStride: K } });
        const xT = new Float64Array(K * M);
        for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) xT[k * M + m] = x[m * K + k];
        expectClose(await ctx.read(z), linearRef(xT, xT, null, K, M, K), 1e-5, 1e-5, 'X^T.X');
        expect(kernels).toEqual(tuning === 'cpu' ? ['transpose', 'transpose', 'matmul-texture'] : ['matmul']);
        kernels.length = 0;
        // Batched products (attention's per-head ones) stay on matmul.
        matmul(ctx, { M: 8, N: 8, K: 16, batch: 2, a: { tensor: xt, rowStride: 16, colStride: 1, batchStride: 128 }, b: { tensor: wt, rowStride: 1, colStride: 16, batchStride: 128 }, c: { tensor: z, rowStride: 8, batchStride: 64 } });
        expect(kernels).toEqual(['matmul']);
        for (const t of [xt, wt, y, z, dyt, dx]) t.release();
      });
    }
  });
});
