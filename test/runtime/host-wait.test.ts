import { describe, expect, it } from 'vitest';
import { isCpuAdapter } from '../../src/runtime/context.js';
import { createNodeContext, sleepingWait } from '../../src/runtime/node-gpu.js';
import { randomData } from '../helpers/gpu.js';

describe('host wait (ContextOptions.hostWait)', () => {
  it('sleepingWait settles as the promise does, after timers that were due', async () => {
    let ticked = false;
    setTimeout(() => {
      ticked = true;
    }, 5);
    const later = new Promise<number>((resolve) => setTimeout(() => resolve(42), 20));
    expect(await sleepingWait(later)).toBe(42);
    expect(ticked).toBe(true);
    const failing = new Promise<number>((_, reject) => setTimeout(() => reject(new Error('lost')), 3));
    await expect(sleepingWait(failing)).rejects.toThrow('lost');
  });

  it('a context on a CPU adapter awaits its queue and mappings through it, with the same results', async () => {
    const waited: string[] = [];
    const ctx = await createNodeContext({
      hostWait: (p) => {
        waited.push('wait');
        return sleepingWait(p);
      },
    });
    try {
      expect(isCpuAdapter(ctx.adapter)).toBe(true);
      const data = randomData(1000);
      const t = ctx.upload(data, [1000], 't');
      await ctx.sync();
      expect(Array.from(await ctx.read(t))).toEqual(Array.from(data));
      t.release();
      expect(waited.length).toBeGreaterThanOrEqual(2);
    } finally {
      await ctx.dispose();
    }
  });
});
