/**
 * IDX files (the MNIST / Fashion-MNIST format): a big-endian header
 *   u16 zero, u8 element type, u8 number of dims, then one u32 per dim,
 * followed by the elements in row-major order. Only unsigned bytes (type 0x08) are supported,
 * which is what image (0x00000803) and label (0x00000801) files use.
 *
 * Pure: gzip is undone by the caller (src/data/gzip.ts, in Node and in the browser).
 */
import { FimaqError } from '../util/errors.js';

export interface IdxArray {
  dims: number[];
  /** A view into the input bytes, not a copy. */
  data: Uint8Array;
}

const TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

/** Parses an (uncompressed) IDX file; `source` names the file in error messages. */
export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  if (bytes.length < 4) throw new FimaqError(`${source}: truncated IDX file (${bytes.length} bytes, no header)`);
  const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
  if (bytes[0] !== 0 || bytes[1] !== 0 || !(bytes[2] in TYPE_NAMES) || bytes[3] === 0) {
    throw new FimaqError(`${source}: not an IDX file (bad magic number 0x${magic})`);
  }
  if (bytes[2] !== 0x08) {
    throw new FimaqError(`${source}: unsupported IDX element type ${TYPE_NAMES[bytes[2]]} (magic 0x${magic}); only unsigned bytes are supported`);
  }
  const ndims = bytes[3];
  const headerLen = 4 + 4 * ndims;
  if (bytes.length < headerLen) {
    throw new FimaqError(`${source}: truncated IDX file (${bytes.length} bytes, header needs ${headerLen})`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const expected = headerLen + count;
  if (bytes.length < expected) {
    throw new FimaqError(`${source}: truncated IDX file (${bytes.length} bytes, dims [${dims.join(', ')}] need ${expected})`);
  }
  if (bytes.length > expected) {
    throw new FimaqError(`${source}: IDX file has ${bytes.length - expected} unexpected bytes after dims [${dims.join(', ')}]`);
  }
  return { dims, data: bytes.subarray(headerLen, expected) };
}
