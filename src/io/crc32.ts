/**
 * CRC-32 (IEEE 802.3, the one in zlib, PNG and gzip): reflected polynomial 0xEDB88320, initial and
 * final XOR 0xFFFFFFFF. Pure and browser-safe.
 */

const TABLE = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c >>> 0;
}

/**
 * CRC-32 of `bytes`, as an unsigned 32-bit integer. Like zlib's crc32(), passing the CRC of the
 * bytes before as `previous` continues it: crc32(b, crc32(a)) === crc32(a ‖ b).
 */
export function crc32(bytes: Uint8Array, previous = 0): number {
  let c = ~previous;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** The CRC as 8 lowercase hex digits, the form stored in file metadata. */
export function crc32Hex(crc: number): string {
  return crc.toString(16).padStart(8, '0');
}
