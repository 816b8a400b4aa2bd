/**
 * The dispatch census (bench/census.ts): the runtime's observer and record-only mode, the cost and
 * workgroup size every descriptor yields, the roofline, and the rule it serves: no dispatch of a
 * deit_small-shaped reconstruction step leaves most of a large GPU idle while moving real data.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CensusRecorder, type DispatchEntry, censusModels, recordReconSteps, splitRepetition } from '../../bench/census-record.js';
import { Roofline } from '../../bench/census-roofline.js';
import { VitModel } from '../../src/model/vit.js';
import { matmul } from '../../src/ops/matmul.js';
import { ALL_KERNELS } from '../../src/ops/registry.js';
import type { CensusEvent } from '../../src/runtime/context.js';
import { dispatchCost, workgroupSize } from '../../src/runtime/kernel.js';
import { PACKAGE_ROOT, createNodeContext } from '../../src/runtime/node-gpu.js';
import { randomData } from '../helpers/gpu.js';

let recorder: Promise<CensusRecorder> | null = null;
function census(): Promise<CensusRecorder> {
  recorder ??= CensusRecorder.create();
  return recorder;
}
afterAll(async () => {
  await (await recorder)?.dispose();
});

describe('dispatch census', () => {
  it('every kernel has its workgroup size in the override WG and a finite, positive cost', () => {
    for (const desc of ALL_KERNELS) {
      const wgsl = readFileSync(join(PACKAGE_ROOT, 'shaders', `${desc.name}.wgsl`), 'utf8');
      expect(wgsl, desc.name).toMatch(/@workgroup_size\(WG\)/);
      expect(workgroupSize(desc), desc.name).toBeGreaterThan(0);
      const uniforms = Object.fromEntries(desc.uniforms.map((u, i) => [u.name, 3 + (i % 5)]));
      const cost = dispatchCost(desc, { uniforms, grid: [7, 1, 1], overrides: desc.overrides, bufferBytes: desc.storage.map((_, i) => 256 * (i + 1)) });
      expect(Number.isFinite(cost.flops) && cost.flops >= 0, `${desc.name} flops ${cost.flops}`).toBe(true);
      expect(Number.isFinite(cost.bytes) && cost.bytes > 0, `${desc.name} bytes ${cost.bytes}`).toBe(true);
    }
  });

  it('an observer sees each dispatch of a real run, which still computes', async () => {
    const events: CensusEvent[] = [];
    const ctx = await createNodeContext({ census: { observe: (e) => events.push(e) } });
    try {
      const [M, N, K] = [5, 3, 7];
      const a = randomData(M * K);
      const b = randomData(K * N);
      const at = ctx.upload(a, [M, K], 'a');
      const bt = ctx.upload(b, [K, N], 'b');
      const c = ctx.empty([M, N], 'c');
      matmul(ctx, { M, N, K, a: { tensor: at, rowStride: K, colStride: 1 }, b: { tensor: bt, rowStride: N, colStride: 1 }, c: { tensor: c, rowStride: N } });
      const got = await ctx.read(c);
      let ref = 0;
      for (let k = 0; k < K; k++) ref += a[2 * K + k] * b[k * N + 1];
      expect(got[2 * N + 1]).toBeCloseTo(ref, 5);
      expect(events.map((e) => e.kind)).toEqual(['dispatch']);
      const e = events[0];
      if (e.kind !== 'dispatch') throw new Error('not a dispatch');
      const cost = dispatchCost(e.desc, { uniforms: e.uniforms, grid: e.grid, overrides: { ...e.desc.overrides, ...e.overrides }, bufferBytes: e.buffers.map((t) => t.byteLength) });
      expect(cost).toEqual({ flops: 2 * M * N * K, bytes: 4 * (M * K + K * N + M * N) });
      expect(ctx.adapter.backend).not.toMatch(/census/);
    } finally {
      await ctx.dispose();
    }
  });

  it('record-only mode compiles and runs nothing, and says so', async () => {
    const rec = await census();
    const work = await rec.record(() => {
      const t = rec.ctx.upload(randomData(64), [8, 8], 'x');
      const out = rec.ctx.empty([8, 8], 'y');
      matmul(rec.ctx, { M: 8, N: 8, K: 8, a: { tensor: t, rowStride: 8, colStride: 1 }, b: { tensor: t, rowStride: 8, colStride: 1 }, c: { tensor: out, rowStride: 8 } });
      rec.ctx.copy(t, out);
      rec.ctx.clear(out);
    });
    expect(work.dispatches).toEqual([{ kernel: 'matmul', workgroups: 1, invocations: 64, flops: 1024, bytes: 768 }]);
    expect(work.transfers).toEqual([{ kind: 'copy', bytes: 512 }, { kind: 'clear', bytes: 256 }]);
    expect(rec.ctx.stats.pipelines).toBe(0);
    expect(rec.ctx.stats.submits).toBe(0);
    expect(rec.ctx.adapter.backend).toMatch(/census record-only: nothing runs/);
  });

  it('splits repeated work and refuses repetitions that differ', () => {
    const d = (kernel: string, workgroups = 1): DispatchEntry => ({ kernel, workgroups, invocations: 64 * workgroups, flops: 1, bytes: 4 });
    const one = { dispatches: [d('setup'), d('a'), d('b')], transfers: [] };
    const two = { dispatches: [...one.dispatches, d('a'), d('b')], transfers: [] };
    expect(splitRepetition(one, two, 'x')).toEqual({ once: { dispatches: [d('setup')], transfers: [] }, each: { dispatches: [d('a'), d('b')], transfers: [] } });
    expect(() => splitRepetition(one, { ...two, dispatches: [...one.dispatches, d('a'), d('b', 2)] }, 'x')).toThrow(/differs/);
  });

  it('projects a dispatch as launch + roofline time / occupancy', () => {
    const gpu = { name: 'test', fp32_tflops: 10, bandwidth_gbs: 1000, compute_units: 100, launch_us: 5, sources: [] };
    const r = new Roofline(gpu, { flop_efficiency: 0.5, bandwidth_efficiency: 0.5 });
    // Compute-bound, full: 1e9 / 5e12 s; memory-bound at 25 of 100 units: 1e6 / 5e11 s x 4.
    expect(r.dispatch({ kernel: 'k', workgroups: 200, invocations: 0, flops: 1e9, bytes: 1e3 })).toBeCloseTo(5e-6 + 2e-4, 12);
    const narrow = { kernel: 'k', workgroups: 25, invocations: 0, flops: 0, bytes: 1e6 };
    expect(r.dispatch(narrow)).toBeCloseTo(5e-6 + 8e-6, 12);
    expect(r.flags(narrow)).toBe(true);
    expect(r.flags({ ...narrow, bytes: 1e3 })).toBe(false);
    expect(r.flags({ ...narrow, workgroups: 100 })).toBe(false);
  });

  it('no dispatch of a deit_small reconstruction step has fewer than 64 workgroups and moves more than 1 MB', async () => {
    const rec = await census();
    // One block stands for every block: a step of block i does not depend on the depth.
    const m = censusModels('deit_small', 1);
    const fp = VitModel.upload(rec.ctx, m.float);
    const steps = {
      block: await recordReconSteps(rec, m, fp, 'blocks.0', ['mse', 'fimaq']),
      patch_embed: await recordReconSteps(rec, m, fp, 'patch_embed', ['mse', 'fimaq']),
      head: await recordReconSteps(rec, m, fp, 'head', ['kl']),
    };
    fp.release();
    const offenders: string[] = [];
    for (const [unit, byLoss] of Object.entries(steps)) {
      for (const [loss, work] of Object.entries(byLoss)) {
        expect(work.dispatches.length, `${unit} ${loss}`).toBeGreaterThan(unit === 'block' ? 50 : 5);
        for (const d of work.dispatches) {
          if (d.workgroups < 64 && d.bytes > 1e6) offenders.push(`${unit} step (${loss}): ${d.kernel}, ${d.workgroups} workgroups, ${(d.bytes / 1e6).toFixed(1)} MB, ${(d.flops / 1e9).toFixed(2)} GFLOP`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});
