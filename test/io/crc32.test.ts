import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Hex } from '../../src/io/crc32.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('crc32', () => {
  it('gives the published check values', () => {
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(ascii('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
    expect(crc32(new Uint8Array(32))).toBe(0x190a55ad);
    expect(crc32(new Uint8Array(32).fill(0xff))).toBe(0xff6cab0b);
  });

  it('continues a CRC over split input', () => {
    const bytes = ascii('123456789');
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(crc32(bytes.subarray(cut), crc32(bytes.subarray(0, cut)))).toBe(0xcbf43926);
    }
  });

  it('agrees with the CRC-32 in a gzip member', () => {
    const data = Uint8Array.from({ length: 4099 }, (_, i) => (i * 7919) & 0xff);
    const gz = gzipSync(data);
    // RFC 1952: the trailer is CRC32 then ISIZE, both little-endian.
    expect(crc32(data)).toBe(new DataView(gz.buffer, gz.byteOffset + gz.length - 8).getUint32(0, true));
  });

  it('formats as 8 lowercase hex digits', () => {
    expect(crc32Hex(0xcbf43926)).toBe('cbf43926');
    expect(crc32Hex(0x0000abcd)).toBe('0000abcd');
  });
});
