import { describe, it } from 'vitest';
import { clsPool } from '../../src/ops/cls-pool.js';
import { embedTokens } from '../../src/ops/embed-tokens.js';
import { patchEmbed } from '../../src/ops/patch-embed.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { clsPoolRef, embedTokensRef, patchEmbedRef } from '../reference/embed.js';

describe('patch embedding, token assembly, class-token pooling', () => {
  // [batch, channels, height, width, patch, dim]
  for (const [batch, c, h, w, p, dim] of [[1, 1, 4, 4, 2, 3], [2, 1, 28, 28, 4, 64], [1, 3, 32, 48, 16, 19], [3, 3, 12, 9, 3, 5]]) {
    it(`B=${batch} C=${c} ${h}x${w} P=${p} D=${dim}`, async () => {
      const ctx = await testContext();
      const img = randomData(batch * c * h * w, 2);
      const wt = randomData(dim * c * p * p, 0.2);
      const bias = randomData(dim);
      const n = (h / p) * (w / p);
      const cls = randomData(dim);
      const pos = randomData((n + 1) * dim, 0.1);
      const t = {
        img: ctx.upload(img, [batch, c, h, w], 'img'),
        w: ctx.upload(wt, [dim, c, p, p], 'w'),
        b: ctx.upload(bias, [dim], 'b'),
        cls: ctx.upload(cls, [dim], 'cls'),
        pos: ctx.upload(pos, [n + 1, dim], 'pos'),
      };
      const pe = patchEmbed(ctx, t.img, t.w, t.b, 'patches');
      const peRef = patchEmbedRef(img, wt, bias, batch, c, h, w, p, dim);
      expectClose(await ctx.read(pe), peRef, 1e-5, 1e-5, 'patch-embed');
      const x = embedTokens(ctx, pe, t.cls, t.pos, 'tokens');
      const xRef = embedTokensRef(Float32Array.from(peRef), cls, pos, batch, n, dim);
      expectClose(await ctx.read(x), xRef, 1e-5, 1e-5, 'embed-tokens');
      const pooled = clsPool(ctx, x, 'pooled');
      expectClose(await ctx.read(pooled), clsPoolRef(xRef, batch, n + 1, dim), 1e-5, 1e-5, 'cls-pool');
      for (const v of [...Object.values(t), pe, x, pooled]) v.release();
    });
  }
});
