/** Reconstruction memory planning: the cache sizes, and the error when a cache exceeds the adapter's buffers. */
import { describe, expect, it } from 'vitest';
import { parseVitConfig } from '../../src/model/config.js';
import { checkReconMemory, reconMemory } from '../../src/recon/memory.js';

const deitTiny = parseVitConfig(JSON.stringify({ architecture: 'deit_tiny_patch16_224' }), 'deit/config.json');

describe('reconstruction memory', () => {
  it('sizes the block caches as images x tokens x width floats', () => {
    const m = reconMemory(deitTiny, 1024);
    expect(m.largestTensorBytes).toBe(1024 * 196 * 768 * 4); // im2col patches: 196 patches of 3x16x16
    expect(m.peakBytes).toBeGreaterThanOrEqual(4 * 1024 * 197 * 192 * 4);
  });

  it('names the size, the limit and a calibration size that fits', () => {
    expect(() => checkReconMemory(deitTiny, 1024, 128 * 2 ** 20)).toThrow(
      /reconstruction on 1024 images needs 588 MiB in one buffer \(\d+ MiB of caches in all\), more than this adapter's largest storage buffer \(128 MiB\); use --calib-size 222 or less/,
    );
    expect(() => checkReconMemory(deitTiny, 222, 128 * 2 ** 20)).not.toThrow();
  });
});
