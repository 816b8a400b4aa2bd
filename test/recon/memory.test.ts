/** Reconstruction memory: the cache sizes `fimaq info` reports. */
import { describe, expect, it } from 'vitest';
import { parseVitConfig } from '../../src/model/config.js';
import { reconMemory } from '../../src/recon/memory.js';

const deitTiny = parseVitConfig(JSON.stringify({ architecture: 'deit_tiny_patch16_224' }), 'deit/config.json');

describe('reconstruction memory', () => {
  it('sizes the caches from images, tokens and width', () => {
    const m = reconMemory(deitTiny, 1024);
    expect(m.largestTensorBytes).toBe(1024 * 196 * 768 * 4); // im2col patches: 196 patches of 3x16x16
    expect(m.peakBytes).toBeGreaterThanOrEqual(4 * 1024 * 197 * 192 * 4);
    expect(reconMemory(deitTiny, 512).peakBytes).toBe(m.peakBytes / 2);
  });
});
