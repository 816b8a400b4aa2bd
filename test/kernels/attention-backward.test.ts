import { describe, it } from 'vitest';
import { attentionContextBackward, attentionScoresBackward } from '../../src/ops/attention-backward.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { attentionBackwardRef } from '../reference/attention-backward.js';

describe('attention backward from the fused qkv layout', () => {
  for (const [batch, tokens, heads, hd] of [[1, 1, 1, 1], [2, 5, 3, 4], [3, 17, 2, 8]]) {
    it(`B=${batch} N=${tokens} H=${heads} hd=${hd}`, async () => {
      const ctx = await testContext();
      const dim = heads * hd;
      const alpha = 1 / Math.sqrt(hd);
      const qkv = randomData(batch * tokens * 3 * dim, 2);
      const attn = randomData(batch * heads * tokens * tokens, 1);
      const dOut = randomData(batch * tokens * dim, 1);
      const dScores = randomData(batch * heads * tokens * tokens, 1);
      const qkvT = ctx.upload(qkv, [batch, tokens, 3 * dim], 'qkv');
      const attnT = ctx.upload(attn, [batch, heads, tokens, tokens], 'attn');
      const dOutT = ctx.upload(dOut, [batch, tokens, dim], 'dOut');
      const dScoresT = ctx.upload(dScores, [batch, heads, tokens, tokens], 'dScores');
      const dQkv = ctx.empty(qkvT.shape, 'dQkv');
      const dAttn = attentionContextBackward(ctx, dOutT, attnT, qkvT, dQkv, 'attn');
      attentionScoresBackward(ctx, dScoresT, qkvT, dQkv, alpha);
      const ref = attentionBackwardRef(dOut, dScores, attn, qkv, batch, tokens, heads, hd, alpha);
      expectClose(await ctx.read(dAttn), ref.dAttn, 1e-5, 1e-5, 'dA');
      expectClose(await ctx.read(dQkv), ref.dQkv, 1e-5, 1e-5, 'dq, dk, dv');
      for (const t of [qkvT, attnT, dOutT, dScoresT, dQkv, dAttn]) t.release();
    });
  }
});
