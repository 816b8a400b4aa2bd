import { describe, it } from 'vitest';
import { attention, attentionContext, attentionScores } from '../../src/ops/attention.js';
import { softmax } from '../../src/ops/softmax.js';
import { expectClose, randomData, testContext } from '../helpers/gpu.js';
import { attentionContextRef, attentionScoresRef } from '../reference/attention.js';
import { softmaxRef } from '../reference/softmax.js';

describe('multi-head attention from fused qkv', () => {
  // [batch, tokens, heads, head_dim]
  for (const [batch, tokens, heads, hd] of [[1, 1, 1, 1], [2, 5, 3, 4], [3, 50, 4, 16], [1, 17, 6, 7]]) {
    it(`B=${batch} N=${tokens} H=${heads} hd=${hd}`, async () => {
      const ctx = await testContext();
      const dim = heads * hd;
      const qkv = randomData(batch * tokens * 3 * dim, 2);
      const qkvT = ctx.upload(qkv, [batch, tokens, 3 * dim], 'qkv');
      const s = attentionScores(ctx, qkvT, heads, 'scores');
      const sRef = attentionScoresRef(qkv, batch, tokens, heads, hd);
      expectClose(await ctx.read(s), sRef, 1e-5, 1e-5, 'scores');
      const a = softmax(ctx, s, 'attn');
      const aRef = softmaxRef(sRef, batch * heads * tokens, tokens);
      const o = attentionContext(ctx, a, qkvT, 'context');
      const oRef = attentionContextRef(aRef, qkv, batch, tokens, heads, hd);
      expectClose(await ctx.read(o), oRef, 1e-5, 1e-5, 'context');
      const fused = attention(ctx, qkvT, heads, 'attention');
      expectClose(await ctx.read(fused), oRef, 1e-5, 1e-5, 'attention');
      for (const t of [qkvT, s, a, o, fused]) t.release();
    });
  }
});
