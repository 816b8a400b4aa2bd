/** Shared test plumbing: one GPU context per test file, seeded data, tolerance checks. */
import { afterAll } from 'vitest';
import type { Classifier } from '../../src/model/classifier.js';
import type { GpuContext } from '../../src/runtime/context.js';
import { createNodeContext } from '../../src/runtime/node-gpu.js';
import { uniformTensor } from '../../src/util/prng.js';

let shared: Promise<GpuContext> | null = null;

/** A context that poisons every new buffer with NaN, so unwritten outputs fail the comparisons. */
export function testContext(): Promise<GpuContext> {
  if (!shared) {
    shared = createNodeContext({ poison: true });
    afterAll(async () => {
      await (await shared)?.dispose();
      shared = null;
    });
  }
  return shared;
}

let portable: Promise<GpuContext> | null = null;

/**
 * Like testContext, but compiling the portable variant of every shader that has one (as on an
 * adapter without packed_4x8_integer_dot_product), so both variants are tested on one machine.
 */
export function portableTestContext(): Promise<GpuContext> {
  if (!portable) {
    portable = createNodeContext({ poison: true, disableLanguageFeatures: ['packed_4x8_integer_dot_product'] });
    afterAll(async () => {
      await (await portable)?.dispose();
      portable = null;
    });
  }
  return portable;
}

let streamCounter = 1;
/** Seeded random values in [-scale, scale] (never zeros); each call draws a new stream. */
export function randomData(count: number, scale = 1, seed = 1234): Float32Array {
  return uniformTensor(seed, streamCounter++, count, 0, scale);
}

/**
 * Checks |got - ref| <= atol + rtol * |ref| element-wise; throws with the first mismatches.
 * Returns the largest absolute error, for reporting.
 */
export function expectClose(got: ArrayLike<number>, ref: ArrayLike<number>, atol: number, rtol: number, what = 'values'): number {
  if (got.length !== ref.length) throw new Error(`${what}: ${got.length} values, expected ${ref.length}`);
  const bad: string[] = [];
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(got[i] - ref[i]);
    if (!(err <= atol + rtol * Math.abs(ref[i]))) {
      if (bad.length < 8) bad.push(`[${i}] got ${got[i]} expected ${ref[i]}`);
      else if (bad.length === 8) bad.push('...');
    }
    if (Number.isNaN(err)) worst = Infinity;
    else worst = Math.max(worst, err);
  }
  if (bad.length > 0) throw new Error(`${what}: mismatches (atol ${atol}, rtol ${rtol}):\n${bad.join('\n')}`);
  return worst;
}

/** max |got - ref| over max |ref|: the relative error the parity and engine-agreement tests report. */
export function maxRelativeError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    err = Math.max(err, Math.abs(got[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return err / scale;
}

/** The logits of host images [count, ...model.inputShape]; the model is released. */
export async function logitsAndRelease(model: Classifier & { release(): void }, images: Float32Array, count: number): Promise<Float32Array> {
  const input = model.ctx.upload(images, [count, ...model.inputShape], 'images');
  const out = await model.ctx.read(model.forward(input));
  input.release();
  model.release();
  return out;
}
