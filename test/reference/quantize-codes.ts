/** CPU reference of quantize-codes: integer codes through a 4-D view, and the unpacking of words. */
import type { QuantView } from '../../src/ops/fake-quant.js';
import { roundHalfEven } from './fake-quant.js';

/**
 * The code of every viewed element, in view order (i3 fastest): clamp(round(x/s) + round(z), 0,
 * 2^bits − 1) with ties to even and x / s rounded to float32 like the GPU's division.
 */
export function quantizeCodesRef(x: Float32Array, scale: ArrayLike<number>, zp: ArrayLike<number>, bits: number, v: QuantView): Uint8Array {
  const [n0, n1, n2, n3] = v.sizes;
  const qmax = 2 ** bits - 1;
  const out = new Uint8Array(n0 * n1 * n2 * n3);
  let o = 0;
  for (let i0 = 0; i0 < n0; i0++)
    for (let i1 = 0; i1 < n1; i1++)
      for (let i2 = 0; i2 < n2; i2++)
        for (let i3 = 0; i3 < n3; i3++) {
          const idx = [i0, i1, i2, i3];
          const dot = (s: readonly number[]): number => idx.reduce((acc, i, k) => acc + i * s[k], 0);
          const xv = x[v.offset + dot(v.address)];
          const q = roundHalfEven(Math.fround(xv / scale[dot(v.scale)])) + roundHalfEven(zp[dot(v.zeroPoint)]);
          out[o++] = Math.min(Math.max(q, 0), qmax);
        }
  return out;
}

/**
 * Reads packed codes back in view order: row (i0, i1, i2) starts at word
 * offset + i0·d0 + i1·d1 + i2·d2 and code i3 is byte i3 % 4 of its word i3 / 4. Also returns the
 * lanes past n3 in each row's last word (they must be 0) and the set of word addresses the rows cover.
 */
export function unpackCodes(
  words: Uint32Array,
  sizes: readonly [number, number, number, number],
  offset: number,
  strides: readonly [number, number, number],
): { codes: Uint8Array; padding: number[]; covered: Set<number> } {
  const [n0, n1, n2, n3] = sizes;
  const perRow = Math.ceil(n3 / 4);
  const codes = new Uint8Array(n0 * n1 * n2 * n3);
  const padding: number[] = [];
  const covered = new Set<number>();
  let o = 0;
  for (let i0 = 0; i0 < n0; i0++)
    for (let i1 = 0; i1 < n1; i1++)
      for (let i2 = 0; i2 < n2; i2++) {
        const row = offset + i0 * strides[0] + i1 * strides[1] + i2 * strides[2];
        for (let w = 0; w < perRow; w++) covered.add(row + w);
        for (let i3 = 0; i3 < perRow * 4; i3++) {
          const byte = Math.floor(words[row + Math.floor(i3 / 4)] / 2 ** (8 * (i3 % 4))) % 256;
          if (i3 < n3) codes[o++] = byte;
          else padding.push(byte);
        }
      }
  return { codes, padding, covered };
}
