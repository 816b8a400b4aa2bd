/** Test helpers shared by the data-layer tests. */
import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';

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

/** A solid 4x4 PNG; colorType 0 = grey, 2 = RGB, 6 = RGBA. */
export function solidPng(path: string, rgba: [number, number, number, number], colorType: 0 | 2 | 6 = 2): void {
  const png = new PNG({ width: 4, height: 4 });
  for (let i = 0; i < 16; i++) png.data.set(rgba, 4 * i);
  writeFileSync(path, PNG.sync.write(png, { colorType }));
}
