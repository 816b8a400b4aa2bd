import { describe, expect, it } from 'vitest';
import { add, addKernel } from '../../src/ops/add.js';
import { createContext } from '../../src/runtime/device.js';
import { BufferPool } from '../../src/runtime/buffer-pool.js';
import { MAX_WORKGROUPS_PER_DIMENSION, gridFor, packUniforms, pipelineKey } from '../../src/runtime/kernel.js';
import { readShader } from '../../src/runtime/node-gpu.js';
import { randomData, testContext } from '../helpers/gpu.js';

describe('runtime', () => {
  it('reports WGSL compilation errors with file, line and column', async () => {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    const broken = (name: string) => (name === 'add' ? readShader('add').replace('y[i] = a[i] + p.alpha * b[i];', 'y[i] = a[i] + undefined_thing;') : readShader(name));
    const ctx = await createContext(create([]), broken);
    try {
      await expect(ctx.prepare(addKernel)).rejects.toThrow(/shaders\/add\.wgsl:\d+:\d+: .*undefined_thing/);
    } finally {
      await ctx.dispose();
    }
  });

  it('counts readbacks: recording and submitting work reads nothing back', async () => {
    // Without poisoning, which submits before every new tensor so its NaN fill is ordered.
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    const ctx = await createContext(create([]), readShader);
    const a = ctx.upload(randomData(100), [100], 'a');
    const before = { ...ctx.stats };
    let x = a;
    for (let i = 0; i < 200; i++) {
      const y = add(ctx, x, a, 'y');
      if (x !== a) x.release();
      x = y;
    }
    await ctx.sync();
    expect(ctx.stats.readbacks).toBe(before.readbacks);
    expect(ctx.stats.dispatches - before.dispatches).toBe(200);
    // 200 dispatches in batches of 64 per submit: a handful of submits, not one per op.
    expect(ctx.stats.submits - before.submits).toBeLessThanOrEqual(5);
    const got = await ctx.read(x);
    expect(ctx.stats.readbacks).toBe(before.readbacks + 1);
    const data = await ctx.read(a);
    expect(got[7]).toBeCloseTo(201 * data[7], 3);
    await ctx.dispose();
  });

  it('reuses released buffers of the same size bucket', async () => {
    const ctx = await testContext();
    const t1 = ctx.empty([1000], 't1');
    const buffer = t1.buffer;
    t1.release();
    const t2 = ctx.empty([990], 't2');
    expect(t2.buffer).toBe(buffer);
    t2.release();
    expect(() => t2.release()).toThrow(/released twice/);
  });

  it('profiles kernels with timestamp queries or wall clock', async () => {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    const ctx = await createContext(create([]), readShader, { profile: true });
    try {
      const a = ctx.upload(randomData(4096), [4096], 'a');
      for (let i = 0; i < 5; i++) add(ctx, a, a, 'y').release();
      const timings = await ctx.kernelTimings();
      expect(timings).toHaveLength(1);
      expect(timings[0].name).toBe('add');
      expect(timings[0].calls).toBe(5);
      expect(timings[0].milliseconds).toBeGreaterThan(0);
      expect(['timestamp-query', 'wall-clock']).toContain(ctx.timingSource);
      a.release();
    } finally {
      await ctx.dispose();
    }
  });
});

describe('kernel descriptors (pure)', () => {
  it('packs uniforms in order and rejects wrong values', () => {
    const view = new DataView(new ArrayBuffer(16));
    packUniforms(addKernel, { count: 7, alpha: 0.5 }, view, 0);
    expect(view.getUint32(0, true)).toBe(7);
    expect(view.getFloat32(4, true)).toBe(0.5);
    expect(() => packUniforms(addKernel, { count: -1, alpha: 1 }, view, 0)).toThrow(/not a u32/);
    expect(() => packUniforms(addKernel, { count: 1, alpha: 1, other: 2 }, view, 0)).toThrow(/unknown uniform/);
    expect(() => packUniforms(addKernel, {}, view, 0)).toThrow(/'count' is undefined/);
  });

  it('keys pipelines by op and overrides only', () => {
    expect(pipelineKey(addKernel, {})).toBe(pipelineKey(addKernel, { WG: 256 }));
    expect(pipelineKey(addKernel, {})).not.toBe(pipelineKey(addKernel, { WG: 64 }));
  });

  it('spills large dispatches into the y dimension', () => {
    expect(gridFor(100, 64)).toEqual([2, 1, 1]);
    const [x, y] = gridFor(64 * MAX_WORKGROUPS_PER_DIMENSION * 3 + 1, 64);
    expect(x).toBe(MAX_WORKGROUPS_PER_DIMENSION);
    expect(x * y * 64).toBeGreaterThanOrEqual(64 * MAX_WORKGROUPS_PER_DIMENSION * 3 + 1);
  });

  it('buckets buffer sizes', () => {
    expect(BufferPool.bucket(1)).toBe(256);
    expect(BufferPool.bucket(257)).toBe(512);
    expect(BufferPool.bucket(100_000)).toBeGreaterThanOrEqual(100_000);
    expect(BufferPool.bucket(100_000)).toBeLessThan(110_000);
  });
});
