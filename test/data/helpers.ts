/** Test helpers shared by the data-layer tests. */

/** Builds an IDX file: magic 00 00 <type> <ndims>, big-endian u32 dims, then the bytes. */
export function makeIdx(dims: number[], data: number[] | Uint8Array, type = 0x08): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  const view = new DataView(header.buffer);
  header.set([0, 0, type, dims.length]);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}
