import { describe, expect, it } from 'vitest';
import { parseSafetensors, serializeSafetensors, toFloat32, type Dtype, type RawTensor } from '../../src/io/safetensors.js';
import { FimaqError } from '../../src/util/errors.js';

const SRC = 'weights.safetensors';

/** A file with a hand-written header, to reach the error paths serializeSafetensors never produces. */
function craft(header: unknown, dataBytes: number, rawHeader?: string): Uint8Array {
  const json = new TextEncoder().encode(rawHeader ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

function errorOf(fn: () => unknown): FimaqError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FimaqError);
    const err = e as FimaqError;
    expect(err.message).not.toContain('\n');
    return err;
  }
  throw new Error('expected an error');
}

function sample(): Uint8Array {
  return serializeSafetensors(
    {
      b: { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
      a: { dtype: 'F16', shape: [3], data: new Uint16Array([0x3c00, 0xc000, 0x3555]) },
    },
    { format: 'pt' },
  );
}

describe('serializeSafetensors / parseSafetensors round trip', () => {
  it('keeps dtype, shape, bytes and metadata for every dtype', () => {
    const input: Record<string, { dtype: Dtype; shape: number[]; data: ArrayBufferView }> = {
      f64: { dtype: 'F64', shape: [2], data: new Float64Array([Math.PI, -1e300]) },
      f32: { dtype: 'F32', shape: [2, 2], data: new Float32Array([1.5, -2, 0, 3e-39]) },
      f16: { dtype: 'F16', shape: [3], data: new Uint16Array([0x3c00, 0x8000, 0x7bff]) },
      bf16: { dtype: 'BF16', shape: [1, 3], data: new Uint16Array([0x3f80, 0xc040, 0x4049]) },
      i64: { dtype: 'I64', shape: [2], data: new BigInt64Array([-5n, 1n << 40n]) },
      i32: { dtype: 'I32', shape: [3], data: new Int32Array([-1, 0, 2147483647]) },
      i16: { dtype: 'I16', shape: [1], data: new Int16Array([-300]) },
      i8: { dtype: 'I8', shape: [3], data: new Int8Array([-128, 0, 127]) },
      u8: { dtype: 'U8', shape: [5], data: new Uint8Array([0, 1, 2, 254, 255]) },
      u16: { dtype: 'U16', shape: [1], data: new Uint16Array([65535]) },
      u32: { dtype: 'U32', shape: [1], data: new Uint32Array([4294967295]) },
      bool: { dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) },
      empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
      scalar: { dtype: 'F32', shape: [], data: new Float32Array([7]) },
    };
    const bytes = serializeSafetensors(input, { format: 'pt', note: 'round trip' });
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLen % 8).toBe(0);

    const { tensors, metadata } = parseSafetensors(bytes, SRC);
    expect(metadata).toEqual({ format: 'pt', note: 'round trip' });
    expect([...tensors.keys()].sort()).toEqual(Object.keys(input).sort());
    for (const [name, t] of Object.entries(input)) {
      const got = tensors.get(name)!;
      expect(got.dtype).toBe(t.dtype);
      expect(got.shape).toEqual(t.shape);
      expect([...got.bytes]).toEqual([...new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)]);
    }
  });

  it('writes names sorted with data in the same order', () => {
    const bytes = sample();
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    expect(names).toEqual(['a', 'b']);
    expect(header.a.data_offsets).toEqual([0, 6]);
    expect(header.b.data_offsets).toEqual([6, 30]);
    expect(bytes.length).toBe(8 + headerLen + 30);
  });

  it('can compute metadata from the data section, which the parser returns', () => {
    let seen: Uint8Array[] = [];
    const bytes = serializeSafetensors(
      {
        b: { dtype: 'U8', shape: [2], data: new Uint8Array([3, 4]) },
        a: { dtype: 'U8', shape: [3], data: new Uint8Array([0, 1, 2]) },
      },
      (data) => {
        seen = data.map((d) => d.slice());
        return { sum: String(data.reduce((s, d) => s + d.reduce((x, y) => x + y, 0), 0)) };
      },
    );
    expect(seen).toEqual([new Uint8Array([0, 1, 2]), new Uint8Array([3, 4])]);
    const { metadata, data } = parseSafetensors(bytes, SRC);
    expect(metadata).toEqual({ sum: '10' });
    expect([...data]).toEqual([0, 1, 2, 3, 4]);
  });

  it('parses a file that is a view at an odd offset of a larger buffer', () => {
    const file = sample();
    const big = new Uint8Array(file.length + 3);
    big.set(file, 3);
    const { tensors } = parseSafetensors(big.subarray(3), SRC);
    expect([...toFloat32(tensors.get('b')!, 'b', SRC)]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('rejects data whose size does not match the shape', () => {
    const err = errorOf(() => serializeSafetensors({ w: { dtype: 'F32', shape: [3], data: new Float32Array(2) } }));
    expect(err.message).toContain("'w'");
  });
});

describe('parseSafetensors errors name the file and the problem', () => {
  it('file shorter than 8 bytes', () => {
    const err = errorOf(() => parseSafetensors(new Uint8Array(5), SRC));
    expect(err.message).toContain(SRC);
    expect(err.message).toMatch(/5 bytes.*too short/);
  });

  it('header length past the end of the file', () => {
    const bytes = sample();
    new DataView(bytes.buffer).setBigUint64(0, 1_000_000n, true);
    const err = errorOf(() => parseSafetensors(bytes, SRC));
    expect(err.message).toContain(SRC);
    expect(err.message).toContain('header length 1000000 runs past the end of the file');
  });

  it('corrupted header JSON', () => {
    const bytes = sample();
    bytes[9] = 'x'.charCodeAt(0); // '{"a"...' becomes '{xa"...'
    const err = errorOf(() => parseSafetensors(bytes, SRC));
    expect(err.message).toContain(SRC);
    expect(err.message).toContain('not valid JSON');
  });

  it('header that is not an object', () => {
    expect(errorOf(() => parseSafetensors(craft([1, 2], 0), SRC)).message).toContain('not an object');
  });

  it('truncated file gives expected and actual sizes', () => {
    const bytes = sample();
    const err = errorOf(() => parseSafetensors(bytes.subarray(0, bytes.length - 3), SRC));
    expect(err.message).toContain(SRC);
    expect(err.message).toContain('truncated');
    expect(err.message).toContain(`expected at least ${bytes.length} bytes, got ${bytes.length - 3}`);
    expect(err.message).toContain("'b'");
  });

  it('data_offsets that do not match the shape', () => {
    const err = errorOf(() => parseSafetensors(craft({ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, 16), SRC));
    expect(err.message).toContain(SRC);
    expect(err.message).toContain("tensor 'w'");
    expect(err.message).toContain('span 12 bytes but F32 [2, 2] needs 16');
  });

  it('malformed data_offsets', () => {
    for (const offsets of [[4, 0], [0], 'x', [0, 1.5]]) {
      const err = errorOf(() => parseSafetensors(craft({ w: { dtype: 'U8', shape: [4], data_offsets: offsets } }, 4), SRC));
      expect(err.message).toContain("tensor 'w': data_offsets");
    }
  });

  it('unknown dtype', () => {
    const err = errorOf(() => parseSafetensors(craft({ w: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, 1), SRC));
    expect(err.message).toContain(SRC);
    expect(err.message).toContain("tensor 'w': unknown dtype \"F8_E4M3\"");
  });

  it('shape that is not a list of non-negative integers', () => {
    for (const shape of [[-1], [1.5], 'x', [null]]) {
      const err = errorOf(() => parseSafetensors(craft({ w: { dtype: 'U8', shape, data_offsets: [0, 0] } }, 0), SRC));
      expect(err.message).toContain("tensor 'w': shape");
      expect(err.message).toContain('non-negative integers');
    }
  });

  it('overlapping tensors', () => {
    const header = {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    };
    const err = errorOf(() => parseSafetensors(craft(header, 12), SRC));
    expect(err.message).toContain(SRC);
    expect(err.message).toMatch(/'a'.*'b'.*overlap/);
  });

  it('non-string metadata', () => {
    const err = errorOf(() => parseSafetensors(craft({ __metadata__: { epoch: 3 } }, 0), SRC));
    expect(err.message).toContain(SRC);
    expect(err.message).toContain("'epoch' is not a string");
  });
});

function raw(dtype: Dtype, shape: number[], data: ArrayBufferView): RawTensor {
  return { dtype, shape, bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

describe('toFloat32', () => {
  it('converts F16 to hand-computed values', () => {
    const h = new Uint16Array([0x3c00, 0xc000, 0x3555, 0x7bff, 0x0001, 0x0400, 0x8000, 0x7c00, 0xfc00, 0x7e00]);
    const out = toFloat32(raw('F16', [h.length], h), 'h', SRC);
    expect([...out.subarray(0, 7)]).toEqual([1, -2, 0.333251953125, 65504, 2 ** -24, 2 ** -14, -0]);
    expect(Object.is(out[6], -0)).toBe(true);
    expect(out[7]).toBe(Infinity);
    expect(out[8]).toBe(-Infinity);
    expect(out[9]).toBeNaN();
  });

  it('converts BF16 to hand-computed values', () => {
    const h = new Uint16Array([0x3f80, 0xc040, 0x4049, 0x3e80, 0x0001, 0x7f80, 0xff80]);
    const out = toFloat32(raw('BF16', [h.length], h), 'b', SRC);
    expect([...out]).toEqual([1, -3, 3.140625, 0.25, 2 ** -133, Infinity, -Infinity]);
  });

  it('copies F32 from an unaligned offset', () => {
    const values = new Float32Array([1.25, -7, 3e38]);
    const buf = new Uint8Array(values.byteLength + 1);
    buf.set(new Uint8Array(values.buffer), 1);
    const out = toFloat32({ dtype: 'F32', shape: [3], bytes: buf.subarray(1) }, 'x', SRC);
    expect([...out]).toEqual([...values]);
    buf[1] = 0; // the result is a copy, not a view
    expect(out[0]).toBe(1.25);
  });

  it('converts F64 and integer types', () => {
    expect([...toFloat32(raw('F64', [2], new Float64Array([0.1, -2.5])), 'x', SRC)]).toEqual([Math.fround(0.1), -2.5]);
    expect([...toFloat32(raw('I64', [2], new BigInt64Array([-3n, 1n << 33n])), 'x', SRC)]).toEqual([-3, 2 ** 33]);
    expect([...toFloat32(raw('I32', [2], new Int32Array([-7, 9])), 'x', SRC)]).toEqual([-7, 9]);
    expect([...toFloat32(raw('I16', [1], new Int16Array([-300])), 'x', SRC)]).toEqual([-300]);
    expect([...toFloat32(raw('I8', [2], new Int8Array([-128, 127])), 'x', SRC)]).toEqual([-128, 127]);
    expect([...toFloat32(raw('U8', [2], new Uint8Array([0, 255])), 'x', SRC)]).toEqual([0, 255]);
    expect([...toFloat32(raw('U16', [1], new Uint16Array([65535])), 'x', SRC)]).toEqual([65535]);
    expect([...toFloat32(raw('U32', [1], new Uint32Array([4000000000])), 'x', SRC)]).toEqual([4000000000]);
    expect([...toFloat32(raw('BOOL', [3], new Uint8Array([0, 1, 2])), 'x', SRC)]).toEqual([0, 1, 1]);
  });

  it('rejects a byte count that does not match the shape, naming the tensor', () => {
    const err = errorOf(() => toFloat32(raw('F32', [3], new Float32Array(2)), 'blocks.0.norm1.weight', SRC));
    expect(err.message).toContain(SRC);
    expect(err.message).toContain("'blocks.0.norm1.weight'");
  });
});
