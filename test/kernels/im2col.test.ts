import { describe, it } from 'vitest';
import { im2colRows } from '../../src/ops/im2col.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { im2colRef } from '../reference/im2col.js';

describe('im2col', () => {
  // [batch, channels, height, width, patch]
  for (const [batch, c, h, w, p] of [[1, 1, 4, 4, 2], [2, 1, 28, 28, 4], [1, 3, 32, 48, 16], [3, 3, 12, 9, 3]]) {
    it(`B=${batch} C=${c} ${h}x${w} P=${p}`, async () => {
      const ctx = await testContext();
      const img = randomData(batch * c * h * w, 2);
      const t = ctx.upload(img, [batch, c, h, w], 'img');
      const rows = im2colRows(ctx, t, p, 'rows');
      // A copy: exact.
      expectClose(await ctx.read(rows), im2colRef(img, batch, c, h, w, p), 0, 0, 'im2col');
      t.release();
      rows.release();
    });
  }
});
