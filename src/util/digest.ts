/**
 * SHA-256 digests through WebCrypto (`crypto.subtle`), which Node and browsers both have, so a
 * checkpoint written in one can be checked in the other. Digests identify what a run read: the
 * float weights, the calibration images, the files of a checkpoint.
 */

const hex = (buffer: ArrayBuffer): string => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');

/** Lowercase hex SHA-256 of bytes, or of a string's UTF-8 bytes. */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return hex(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}

/** The bytes of a float array, as they are in memory (little-endian on every supported host). */
export const floatBytes = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * A digest of named float tensors: each tensor's digest, then one over the names and digests in
 * name order, so that the same weights give the same digest however they were loaded.
 */
export async function tensorsDigest(tensors: Map<string, Float32Array>): Promise<string> {
  const parts: string[] = [];
  const names = [...tensors.keys()].sort();
  for (const name of names) {
    const data = tensors.get(name) as Float32Array;
    parts.push(`${name}:${data.length}:${await sha256Hex(floatBytes(data))}`);
  }
  return sha256Hex(parts.join('\n'));
}
