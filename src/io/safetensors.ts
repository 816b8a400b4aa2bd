/**
 * Reader and writer for the safetensors format (https://github.com/huggingface/safetensors):
 * an 8-byte little-endian header length N, N bytes of JSON describing each tensor, then the raw
 * little-endian tensor data. Pure and browser-safe: no Node APIs.
 */
import { FimaqError } from '../util/errors.js';

export type Dtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'U16' | 'U32' | 'BOOL';

/** One tensor of a parsed file; `bytes` is a view into the file, little-endian. */
export interface RawTensor {
  dtype: Dtype;
  shape: number[];
  bytes: Uint8Array;
}

/** Bytes per element of each dtype. */
export const DTYPE_SIZE: Readonly<Record<Dtype, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, U16: 2, U32: 4, BOOL: 1,
};

const METADATA_KEY = '__metadata__';

function isDtype(x: unknown): x is Dtype {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_SIZE, x);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Keeps an error message on one line whatever the JSON parser or file says. */
function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}

interface Entry {
  name: string;
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

function parseEntry(name: string, value: unknown, source: string): Entry {
  const where = `${source}: tensor '${name}'`;
  if (!isObject(value)) throw new FimaqError(`${where}: header entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (!isDtype(dtype)) {
    throw new FimaqError(`${where}: unknown dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(DTYPE_SIZE).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw new FimaqError(`${where}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    throw new FimaqError(`${where}: data_offsets ${JSON.stringify(offsets)} is not a pair [begin, end] of integers with begin <= end`);
  }
  const [begin, end] = offsets as [number, number];
  const expected = product(shape) * DTYPE_SIZE[dtype];
  if (end - begin !== expected) {
    throw new FimaqError(
      `${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes but ${dtype} ${fmtShape(shape)} needs ${expected}`,
    );
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

/**
 * Parses and validates a whole safetensors file. `source` names the file in error messages.
 * Tensor bytes are views into `bytes`, not copies; `data` is the view of everything after the header.
 */
export function parseSafetensors(
  bytes: Uint8Array,
  source: string,
): { tensors: Map<string, RawTensor>; metadata: Record<string, string>; data: Uint8Array } {
  if (bytes.length < 8) {
    throw new FimaqError(`${source}: file is ${bytes.length} bytes, too short for a safetensors header (at least 8)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = view.getBigUint64(0, true);
  if (headerLen > BigInt(bytes.length - 8)) {
    throw new FimaqError(
      `${source}: header length ${headerLen} runs past the end of the file (${bytes.length} bytes); the file is truncated or not safetensors`,
    );
  }
  const dataStart = 8 + Number(headerLen);

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (e) {
    throw new FimaqError(`${source}: header is not valid JSON (${oneLine((e as Error).message)})`);
  }
  if (!isObject(header)) throw new FimaqError(`${source}: header JSON is not an object`);

  const metadata: Record<string, string> = {};
  const rawMeta = header[METADATA_KEY];
  if (rawMeta !== undefined) {
    if (!isObject(rawMeta)) throw new FimaqError(`${source}: ${METADATA_KEY} is not an object of strings`);
    for (const [k, v] of Object.entries(rawMeta)) {
      if (typeof v !== 'string') throw new FimaqError(`${source}: ${METADATA_KEY} value for '${k}' is not a string`);
      metadata[k] = v;
    }
  }

  const entries = Object.entries(header)
    .filter(([name]) => name !== METADATA_KEY)
    .map(([name, value]) => parseEntry(name, value, source));

  // Check the furthest-reaching tensor first so a cut-off file is reported as truncated, with sizes.
  const dataLen = bytes.length - dataStart;
  const last = entries.reduce<Entry | undefined>((a, e) => (a === undefined || e.end > a.end ? e : a), undefined);
  if (last !== undefined && last.end > dataLen) {
    throw new FimaqError(
      `${source}: file is truncated: expected at least ${dataStart + last.end} bytes, got ${bytes.length} ` +
        `(tensor '${last.name}' data_offsets [${last.begin}, ${last.end}] exceed the ${dataLen}-byte data block)`,
    );
  }

  const byBegin = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < byBegin.length; i++) {
    const prev = byBegin[i - 1]!;
    const cur = byBegin[i]!;
    if (cur.begin < prev.end) {
      throw new FimaqError(
        `${source}: tensors '${prev.name}' [${prev.begin}, ${prev.end}] and '${cur.name}' [${cur.begin}, ${cur.end}] overlap`,
      );
    }
  }

  const tensors = new Map<string, RawTensor>();
  for (const e of entries) {
    tensors.set(e.name, {
      dtype: e.dtype,
      shape: e.shape,
      bytes: bytes.subarray(dataStart + e.begin, dataStart + e.end),
    });
  }
  return { tensors, metadata, data: bytes.subarray(dataStart) };
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24; // zero or subnormal
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Converts any tensor to a new float32 array (integers and F64 are rounded to the nearest float32). */
export function toFloat32(t: RawTensor, name: string, source: string): Float32Array {
  const size = DTYPE_SIZE[t.dtype];
  const n = product(t.shape);
  if (t.bytes.length !== n * size) {
    throw new FimaqError(
      `${source}: tensor '${name}' has ${t.bytes.length} bytes but ${t.dtype} ${fmtShape(t.shape)} needs ${n * size}`,
    );
  }
  const b = t.bytes;
  const out = new Float32Array(n);
  if (t.dtype === 'F32' && HOST_LITTLE_ENDIAN) {
    // Byte copy: the source may sit at an offset that is not a multiple of 4.
    new Uint8Array(out.buffer).set(b);
    return out;
  }
  if (t.dtype === 'BF16') {
    // bfloat16 is the top half of a float32; reinterpret the widened bits through a shared buffer.
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) bits[i] = (b[2 * i]! | (b[2 * i + 1]! << 8)) << 16;
    return out;
  }
  if (t.dtype === 'F16') {
    for (let i = 0; i < n; i++) out[i] = halfToFloat(b[2 * i]! | (b[2 * i + 1]! << 8));
    return out;
  }
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const read: (i: number) => number = {
    F64: (i: number) => dv.getFloat64(8 * i, true),
    F32: (i: number) => dv.getFloat32(4 * i, true),
    I64: (i: number) => Number(dv.getBigInt64(8 * i, true)),
    I32: (i: number) => dv.getInt32(4 * i, true),
    I16: (i: number) => dv.getInt16(2 * i, true),
    I8: (i: number) => dv.getInt8(i),
    U32: (i: number) => dv.getUint32(4 * i, true),
    U16: (i: number) => dv.getUint16(2 * i, true),
    U8: (i: number) => dv.getUint8(i),
    BOOL: (i: number) => (dv.getUint8(i) !== 0 ? 1 : 0),
  }[t.dtype];
  for (let i = 0; i < n; i++) out[i] = read(i);
  return out;
}

/**
 * Throws unless every value is finite. Run it after toFloat32: F64 values beyond the float32 range
 * have become ±Infinity there.
 */
export function checkFinite(values: Float32Array, name: string, source: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) throw new FimaqError(`${source}: tensor '${name}' has a non-finite value (${v}) at index ${i}`);
  }
}

/**
 * Writes tensors as a safetensors file: names sorted, header padded with spaces to a multiple of
 * 8 bytes (so every tensor starts 8-byte aligned), data in the same order. `data` holds the raw
 * element bytes, little-endian (as typed arrays are on every supported host). `metadata` may be a
 * function of the data section, given as its pieces in file order, so that it can hold a checksum
 * of the data without a second copy of it.
 */
export function serializeSafetensors(
  tensors: Record<string, { dtype: Dtype; shape: number[]; data: ArrayBufferView }>,
  metadata?: Record<string, string> | ((data: readonly Uint8Array[]) => Record<string, string>),
): Uint8Array {
  const names = Object.keys(tensors).sort();
  const entries: Record<string, unknown> = {};
  let offset = 0;
  const chunks: Uint8Array[] = [];
  for (const name of names) {
    if (name === METADATA_KEY) throw new FimaqError(`safetensors: '${METADATA_KEY}' cannot be used as a tensor name`);
    const { dtype, shape, data } = tensors[name]!;
    if (!isDtype(dtype)) throw new FimaqError(`safetensors: tensor '${name}' has unknown dtype ${JSON.stringify(dtype)}`);
    if (!shape.every(isCount)) throw new FimaqError(`safetensors: tensor '${name}' shape ${fmtShape(shape)} is not a list of non-negative integers`);
    const expected = product(shape) * DTYPE_SIZE[dtype];
    if (data.byteLength !== expected) {
      throw new FimaqError(`safetensors: tensor '${name}' has ${data.byteLength} bytes but ${dtype} ${fmtShape(shape)} needs ${expected}`);
    }
    entries[name] = { dtype, shape, data_offsets: [offset, offset + expected] };
    chunks.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    offset += expected;
  }
  const meta = typeof metadata === 'function' ? metadata(chunks) : metadata;
  const header = meta !== undefined && Object.keys(meta).length > 0 ? { [METADATA_KEY]: meta, ...entries } : entries;
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLen = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLen + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let pos = 8 + headerLen;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}
