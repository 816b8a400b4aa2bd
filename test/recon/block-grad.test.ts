/**
 * One whole quantized block in training mode against PyTorch autograd (float64): the forward
 * output and every gradient reconstruction steps with (AdaRound variables including the rounding
 * regulariser, all eight activation scales); a ViT block, and a Swin block whose attention runs on
 * shifted, padded windows with a bias. Fixtures: tools/make_block_grad_fixture.py [--swin].
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mseGrad } from '../../src/ops/mse-grad.js';
import { mseLoss } from '../../src/ops/mse-loss.js';
import { randomUniform } from '../../src/ops/random-uniform.js';
import { TrainableActivation, TrainableWeight } from '../../src/recon/trainable.js';
import { BlockUnit } from '../../src/recon/units.js';
import type { BlockWindows } from '../../src/model/block-tail.js';
import { swinWindowing } from '../../src/model/swin-config.js';
import { windowMergeMap, windowPartitionMap } from '../../src/model/swin-windows.js';
import type { Tensor } from '../../src/runtime/context.js';
import { testContext } from '../helpers/gpu.js';

interface Fixture {
  seed: number;
  batch: number;
  tokens: number;
  dim: number;
  heads: number;
  hidden: number;
  bits: number;
  keep_prob: number;
  round_weight: number;
  beta: number;
  eps: number;
  params: Record<string, number[]>;
  weights: Record<'qkv' | 'proj' | 'fc1' | 'fc2', { scale: number[]; zero_point: number[]; alpha: number[] }>;
  acts: Record<string, { scale: number[]; scale_shape: number[]; zero_point: number[]; zero_point_shape: number[] }>;
  input: number[];
  target: number[];
  mse: number;
  output: number[];
  alpha_grad: Record<string, number[]>;
  scale_grad: Record<string, number[]>;
  swin?: { grid: number; window: number; shift: number; bias: number[] };
}

const fixture = (name: string): Fixture => JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));

/** Agreement relative to the largest reference magnitude (float32 engine vs float64 PyTorch). */
function expectNear(got: Float32Array, ref: number[], rel: number, what: string): void {
  expect(got.length, what).toBe(ref.length);
  const scale = Math.max(...ref.map(Math.abs));
  expect(scale, `${what}: reference is all zeros`).toBeGreaterThan(0);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]));
  expect(worst / scale, `${what}: worst error ${worst} vs max |ref| ${scale}`).toBeLessThan(rel);
}

describe('quantized block: training forward and gradients vs PyTorch', () => {
  for (const [what, fx] of [['ViT block', fixture('block-grad.json')], ['Swin block (shifted, padded windows)', fixture('swin-block-grad.json')]] as const) {
    it(`${what}: matches output, loss, alpha and scale gradients`, async () => {
      const ctx = await testContext();
      const { batch: B, tokens: T, dim: D, hidden, bits } = fx;
      const f32 = (a: number[]) => Float32Array.from(a);
      const up = (name: string, shape: number[]) => ctx.upload(f32(fx.params[name]), shape, name);
      const shapes = { qkv: [3 * D, D], proj: [D, D], fc1: [hidden, D], fc2: [D, hidden] } as const;
      const weight = (layer: keyof typeof shapes) => {
        const [rows, cols] = shapes[layer];
        const q = fx.weights[layer];
        const tw = new TrainableWeight(
          ctx,
          { bits, rows, cols, scale: f32(q.scale), zeroPoint: Int32Array.from(q.zero_point), codes: new Uint8Array(rows * cols) },
          f32(fx.params[`${layer}.weight`]),
          f32(fx.params[`${layer}.bias`]),
          layer,
        );
        ctx.write(tw.alpha, f32(q.alpha));
        return tw;
      };
      const act = (name: string) => {
        const a = fx.acts[name];
        return new TrainableActivation(ctx, { bits, scale: f32(a.scale), scaleShape: a.scale_shape, zeroPoint: f32(a.zero_point), zeroPointShape: a.zero_point_shape }, fx.keep_prob, name);
      };
      const maps: Tensor[] = [];
      let windows: BlockWindows | undefined;
      if (fx.swin) {
        const g = swinWindowing(fx.swin.grid, fx.swin.window, true);
        expect(g.shift).toBe(fx.swin.shift);
        const n = g.window ** 2;
        const partition = ctx.upload(windowPartitionMap(fx.swin.grid, g), [g.numWindows * n], 'partition');
        const merge = ctx.upload(windowMergeMap(fx.swin.grid, g), [fx.swin.grid ** 2], 'merge');
        const bias = ctx.upload(f32(fx.swin.bias), [g.numWindows, fx.heads, n, n], 'bias');
        maps.push(partition, merge, bias);
        windows = { partition, merge, bias, count: g.numWindows, size: n };
      }
      const unit = new BlockUnit(
        ctx,
        'block',
        { heads: fx.heads, eps: fx.eps, windows },
        { gamma: up('norm1.weight', [D]), beta: up('norm1.bias', [D]) },
        { gamma: up('norm2.weight', [D]), beta: up('norm2.bias', [D]) },
        { qkv: weight('qkv'), proj: weight('proj'), fc1: weight('fc1'), fc2: weight('fc2') },
        { qkvIn: act('qkvIn'), q: act('q'), k: act('k'), v: act('v'), attn: act('attn'), projIn: act('projIn'), fc1In: act('fc1In'), fc2In: act('fc2In') },
      );
      const x = ctx.upload(f32(fx.input), [B, T, D], 'x');
      const target = ctx.upload(f32(fx.target), [B, T, D], 'target');
      const y = unit.trainForward(x, (slot, n) => {
        const t = ctx.empty([n], `noise${slot}`);
        randomUniform(ctx, t, fx.seed, slot);
        return t;
      });
      const loss = ctx.empty([1], 'loss');
      const first = ctx.empty([1], 'loss0');
      mseLoss(ctx, y, target, B, loss, 0);
      ctx.copy(loss, first);
      const dy = mseGrad(ctx, y, target, B, first, 0, 'dy');
      unit.backward(dy);

      expectNear(await ctx.read(y), fx.output, 1e-5, 'output');
      expect(Math.abs((await ctx.read(loss))[0] - fx.mse) / fx.mse).toBeLessThan(1e-5);
      for (const layer of ['qkv', 'proj', 'fc1', 'fc2'] as const) {
        const g = unit.weights[layer].alphaGrad(fx.round_weight, fx.beta);
        expectNear(await ctx.read(g), fx.alpha_grad[layer], 1e-4, `d alpha ${layer}`);
        g.release();
      }
      for (const [name, a] of Object.entries(unit.acts)) {
        expect(a.grad, name).not.toBeNull();
        expectNear(await ctx.read(a.grad as NonNullable<typeof a.grad>), fx.scale_grad[name], 1e-4, `d scale ${name}`);
      }
      for (const t of [x, target, y, loss, first, dy, ...maps]) t.release();
      unit.release();
    });
  }
});
