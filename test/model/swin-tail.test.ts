/**
 * The Swin float tail and its backward on a small random Swin with padded, shifted windows and a
 * patch merging: the tail's logits equal the model's own forward from the same step (checked
 * against timm in swin-parity.test.ts), and the token gradient matches central differences of
 * that forward along random directions.
 */
import { describe, expect, it } from 'vitest';
import { swinSteps } from '../../src/model/swin-config.js';
import { SwinTail } from '../../src/model/swin-tail.js';
import { SwinModel } from '../../src/model/swin.js';
import { inverseTokenMap, patchMergeMap } from '../../src/model/swin-windows.js';
import { ZERO_ROW } from '../../src/ops/token-gather.js';
import type { Tensor } from '../../src/runtime/context.js';
import { uniformTensor } from '../../src/util/prng.js';
import { expectClose, testContext } from '../helpers/gpu.js';
import { randomSwinCheckpoint } from '../helpers/random-vit.js';

// 20x20 in patches of 2: a 10x10 grid in windows of 4 (padded to 12x12, 9 windows, shift 2), then merged to 5x5 (padded to 8x8).
const CONFIG = JSON.stringify({
  architecture: 'swin_tiny_patch4_window7_224',
  model_args: { img_size: 20, patch_size: 2, window_size: 4, in_chans: 1, num_classes: 5, embed_dim: 8, depths: [2, 1], num_heads: [2, 2] },
});
const ckpt = randomSwinCheckpoint(CONFIG, 37);
const steps = swinSteps(ckpt.config);
const batch = 2;

/** Logits from tokens entering step `first`, through the model's own layers. */
function modelFrom(model: SwinModel, first: number, tokens: Tensor): Tensor {
  let x = tokens;
  for (const s of steps.slice(first)) {
    const y = s.kind === 'block' ? model.block(s.stage, s.index, x) : model.downsample(s.stage, x);
    if (x !== tokens) x.release();
    x = y;
  }
  const logits = model.headForward(x);
  if (x !== tokens) x.release();
  return logits;
}

describe('SwinTail', () => {
  it('inverseTokenMap undoes the patch-merging gather', () => {
    const map = patchMergeMap(6);
    const inverse = inverseTokenMap(map, 36);
    for (let r = 0; r < 36; r++) expect(map[inverse[r]!]).toBe(r);
    expect(() => inverseTokenMap(Uint32Array.of(0, 0), 2)).toThrow(/twice/);
    expect(inverseTokenMap(Uint32Array.of(1, ZERO_ROW), 3)).toEqual(Uint32Array.of(ZERO_ROW, 0, ZERO_ROW));
  });

  for (let first = 0; first <= steps.length; first++) {
    const from = first < steps.length ? steps[first]!.name : 'the head alone';
    it(`from ${from}`, async () => {
      const ctx = await testContext();
      const model = SwinModel.upload(ctx, ckpt);
      const stage = ckpt.config.stages[first < steps.length ? steps[first]!.stage : ckpt.config.stages.length - 1]!;
      const inRes = first < steps.length && steps[first]!.kind === 'merge' ? 2 * stage.resolution : stage.resolution;
      const inDim = first < steps.length && steps[first]!.kind === 'merge' ? stage.inDim : stage.dim;
      const shape = [batch, inRes ** 2, inDim];
      const n = shape.reduce((a, b) => a * b);
      const tokens = uniformTensor(50, first, n, 0, 1.5);
      const weights = uniformTensor(51, first, batch * ckpt.config.numClasses, 0, 1);
      const tokensT = ctx.upload(tokens, shape, 'tokens');
      const tail = new SwinTail(model, first);
      const logits = tail.forward(tokensT);
      const direct = modelFrom(model, first, tokensT);
      expectClose(await ctx.read(logits), await ctx.read(direct), 1e-5, 1e-5, 'logits');
      // Loss L = Σ weights · logits, so dL/dlogits = weights.
      const dLogits = ctx.upload(weights, logits.shape, 'dlogits');
      const dTokensT = tail.backward(dLogits);
      expect(dTokensT.shape).toEqual(shape);
      const dTokens = await ctx.read(dTokensT);
      const loss = async (x: Float32Array) => {
        const t = ctx.upload(x, shape, 'x');
        const l = modelFrom(model, first, t);
        const v = await ctx.read(l);
        t.release();
        l.release();
        return v.reduce((acc, y, i) => acc + y * weights[i]!, 0);
      };
      const h = 1e-2;
      for (let k = 0; k < 3; k++) {
        const dir = uniformTensor(52, 10 * first + k, n, 0, 1);
        const plus = Float32Array.from(tokens, (v, i) => v + h * dir[i]!);
        const minus = Float32Array.from(tokens, (v, i) => v - h * dir[i]!);
        const fd = ((await loss(plus)) - (await loss(minus))) / (2 * h);
        const got = dTokens.reduce((acc, v, i) => acc + v * dir[i]!, 0);
        expect(Math.abs(got)).toBeGreaterThan(1e-3);
        expect(Math.abs(got - fd)).toBeLessThan(5e-3 * Math.abs(fd) + 1e-4);
      }
      for (const t of [tokensT, logits, direct, dLogits, dTokensT]) t.release();
      model.release();
    });
  }
});
