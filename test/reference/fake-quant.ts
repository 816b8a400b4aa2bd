/** Float reference of the uniform asymmetric fake-quantizer, mirroring WGSL's round (ties to even). */
import type { QuantView } from '../../src/ops/fake-quant.js';

export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** One element; `x / s` is rounded to float32 as the GPU's division is. */
export function fakeQuantValue(x: number, s: number, z: number, bits: number): number {
  const zr = roundHalfEven(z);
  const q = Math.min(Math.max(roundHalfEven(Math.fround(x / s)) + zr, 0), 2 ** bits - 1);
  return Math.fround((q - zr) * s);
}

/** Calls fn(address, scaleIndex, zeroPointIndex) for every element of the view. */
export function forEachViewed(v: QuantView, fn: (at: number, si: number, zi: number) => void): void {
  const [n0, n1, n2, n3] = v.sizes;
  for (let i0 = 0; i0 < n0; i0++)
    for (let i1 = 0; i1 < n1; i1++)
      for (let i2 = 0; i2 < n2; i2++)
        for (let i3 = 0; i3 < n3; i3++) {
          const at = v.offset + i0 * v.address[0] + i1 * v.address[1] + i2 * v.address[2] + i3 * v.address[3];
          fn(at, i0 * v.scale[0] + i1 * v.scale[1] + i2 * v.scale[2] + i3 * v.scale[3], i0 * v.zeroPoint[0] + i1 * v.zeroPoint[1] + i2 * v.zeroPoint[2] + i3 * v.zeroPoint[3]);
        }
}

/** Applies the view to a copy of x. */
export function fakeQuantRef(x: Float32Array, scale: ArrayLike<number>, zp: ArrayLike<number>, bits: number, v: QuantView): Float32Array {
  const y = Float32Array.from(x);
  forEachViewed(v, (at, si, zi) => {
    y[at] = fakeQuantValue(x[at], scale[si], zp[zi], bits);
  });
  return y;
}
