import { describe, expect, it } from 'vitest';
import { packCodes, unpackCodes, wordsPerRow } from '../../src/util/pack.js';
import { uniforms } from '../../src/util/prng.js';

describe('code packing', () => {
  for (const bits of [2, 3, 4, 6, 8]) {
    for (const [rows, cols] of [[1, 1], [3, 11], [7, 64], [5, 33], [2, 197]]) {
      it(`round trip ${bits} bits, ${rows}x${cols}`, () => {
        const codes = Uint8Array.from(uniforms(bits, rows * 1000 + cols, rows * cols), (u) => Math.floor(u * 2 ** bits));
        const words = packCodes(codes, rows, cols, bits);
        expect(words.length).toBe(rows * wordsPerRow(cols, bits));
        expect(Array.from(unpackCodes(words, rows, cols, bits))).toEqual(Array.from(codes));
      });
    }
  }

  it('pins the layout: little-endian bitstream per row, 3-bit codes straddling words', () => {
    // 11 codes of 3 bits = 33 bits: code 10 sits at bits 30..32, two bits in word 0 and one in word 1.
    const codes = [1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 7];
    const words = packCodes(codes, 1, 11, 3);
    let expected0 = 0;
    codes.forEach((c, j) => {
      if (j < 10) expected0 |= c << (3 * j);
    });
    expected0 |= (7 & 0b11) << 30;
    expect(words[0]).toBe(expected0 >>> 0);
    expect(words[1]).toBe(1);
  });

  it('rejects codes that do not fit and unsupported widths', () => {
    expect(() => packCodes([8], 1, 1, 3)).toThrow(/does not fit 3 bits/);
    expect(() => packCodes([1], 1, 1, 9)).toThrow(/bit width 9 is not supported/);
    expect(() => unpackCodes(new Uint32Array(3), 2, 11, 3)).toThrow(/expected 4/);
  });
});
