/**
 * Size of the quantized-model file for a deit_small_patch16_224-shaped model against its float32
 * safetensors checkpoint: the [E5] targets are at most 0.14x at W4 and 0.11x at W3.
 */
import { describe, expect, it } from 'vitest';
import { serializeSafetensors } from '../../src/io/safetensors.js';
import { serializeQuantizedModel } from '../../src/io/quantized-file.js';
import { expectedVitTensors } from '../../src/model/checkpoint.js';
import { parseVitConfig } from '../../src/model/config.js';
import { randomQuantizedVit } from '../helpers/quantized-sample.js';

const DEIT_SMALL = JSON.stringify({ architecture: 'deit_small_patch16_224', num_classes: 1000 });

describe('quantized file size (deit_small-shaped)', () => {
  it('W4 is at most 0.14x and W3 at most 0.11x of the float32 checkpoint', () => {
    const cfg = parseVitConfig(DEIT_SMALL, 'deit_small/config.json');
    const shapes = expectedVitTensors(cfg);
    // The float checkpoint's real byte count: every tensor as F32 in one safetensors file.
    const floatBytes = serializeSafetensors(
      Object.fromEntries([...shapes].map(([name, shape]) => [name, { dtype: 'F32' as const, shape, data: new Uint8Array(4 * shape.reduce((a, b) => a * b, 1)) }])),
    ).length;
    expect(floatBytes).toBeGreaterThan(4 * 22e6);
    const ratios: Record<number, number> = {};
    for (const bits of [4, 3]) {
      const q = randomQuantizedVit(DEIT_SMALL, { wbits: bits, abits: bits, seed: bits });
      ratios[bits] = serializeQuantizedModel(q).length / floatBytes;
    }
    console.log(`deit_small: float32 ${floatBytes} bytes; W4 ${ratios[4].toFixed(4)}x, W3 ${ratios[3].toFixed(4)}x`);
    expect(ratios[4]).toBeLessThanOrEqual(0.14);
    expect(ratios[3]).toBeLessThanOrEqual(0.11);
    // Codes alone are b/32 of the float bytes; the rest (scales, zero points, float parameters) stays small.
    expect(ratios[4]).toBeGreaterThan(4 / 32);
    expect(ratios[3]).toBeGreaterThan(3 / 32);
  }, 120_000);
});
