/**
 * Decompression through the platform's DecompressionStream (browsers, and Node 18 and later), so
 * the same code undoes gzip and zlib data in the CLI and in the page. Pure: no node:zlib.
 */

/**
 * The decompressed bytes of `bytes`: 'gzip', or 'deflate' (the zlib format, as in PNG). More than
 * `limit` bytes of output stops the stream with an error, so a small input cannot make the caller
 * hold gigabytes. Throws a plain Error on corrupt or truncated data; callers add the file name.
 * One platform difference remains: bytes after the end of the compressed stream are an error in
 * Chromium's DecompressionStream and ignored by Node's (encoders do not write them).
 */
export async function decompress(bytes: Uint8Array, format: 'gzip' | 'deflate', limit = Infinity): Promise<Uint8Array> {
  // slice(): a Blob takes only ArrayBuffer-backed views.
  const reader = new Blob([bytes.slice()]).stream().pipeThrough(new DecompressionStream(format)).getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let next: ReadableStreamReadResult<Uint8Array>;
    try {
      next = await reader.read();
    } catch (e) {
      throw new Error(`corrupt ${format} data (${e instanceof Error ? e.message : String(e)})`);
    }
    if (next.done) break;
    total += next.value.length;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw new Error(`${format} data decompresses to more than ${limit} bytes`);
    }
    parts.push(next.value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Undoes gzip (a .gz file). Throws a plain Error on corrupt or truncated data. */
export function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  return decompress(bytes, 'gzip');
}
