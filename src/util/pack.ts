/**
 * Integer codes packed at their bit width into u32 words, the layout of the quantized-model file
 * and of the integer kernels ([E5]). Each row (output channel) is a little-endian bitstream: code j
 * of a row occupies bits [j*b, (j+1)*b) counted from bit 0 of the row's first word, so a 3- or
 * 6-bit code may straddle two words. Rows start on a word boundary: row r begins at word
 * r * wordsPerRow(cols, b).
 */
import { FimaqError } from './errors.js';

export const MIN_BITS = 2;
export const MAX_BITS = 8;

export function checkBits(bits: number, what: string): void {
  if (!Number.isInteger(bits) || bits < MIN_BITS || bits > MAX_BITS) {
    throw new FimaqError(`${what}: bit width ${bits} is not supported (use ${MIN_BITS} to ${MAX_BITS})`);
  }
}

export function wordsPerRow(cols: number, bits: number): number {
  return Math.ceil((cols * bits) / 32);
}

export function packCodes(codes: ArrayLike<number>, rows: number, cols: number, bits: number): Uint32Array {
  checkBits(bits, 'packCodes');
  if (codes.length !== rows * cols) throw new Error(`packCodes: ${codes.length} codes for ${rows}x${cols}`);
  const wpr = wordsPerRow(cols, bits);
  const out = new Uint32Array(rows * wpr);
  const max = 2 ** bits - 1;
  for (let r = 0; r < rows; r++) {
    const base = r * wpr;
    for (let j = 0; j < cols; j++) {
      const c = codes[r * cols + j];
      if (!Number.isInteger(c) || c < 0 || c > max) throw new Error(`packCodes: code ${c} at row ${r}, column ${j} does not fit ${bits} bits`);
      const bit = j * bits;
      const w = base + (bit >>> 5);
      const shift = bit & 31;
      out[w] = (out[w] | (c << shift)) >>> 0;
      if (shift + bits > 32) out[w + 1] = (out[w + 1] | (c >>> (32 - shift))) >>> 0;
    }
  }
  return out;
}

export function unpackCodes(words: Uint32Array, rows: number, cols: number, bits: number): Uint8Array {
  checkBits(bits, 'unpackCodes');
  const wpr = wordsPerRow(cols, bits);
  if (words.length !== rows * wpr) throw new Error(`unpackCodes: ${words.length} words for ${rows}x${cols} at ${bits} bits (expected ${rows * wpr})`);
  const out = new Uint8Array(rows * cols);
  const mask = 2 ** bits - 1;
  for (let r = 0; r < rows; r++) {
    const base = r * wpr;
    for (let j = 0; j < cols; j++) {
      const bit = j * bits;
      const w = base + (bit >>> 5);
      const shift = bit & 31;
      let v = words[w] >>> shift;
      if (shift + bits > 32) v |= words[w + 1] << (32 - shift);
      out[r * cols + j] = v & mask;
    }
  }
  return out;
}
