/**
 * Rows of the whole calibration set kept on the GPU: block inputs and outputs, the tensors at the
 * quantization points (through VitModel hooks), and reconstruction's caches. A storage binding is
 * limited (maxStorageBufferBindingSize, often 128 MiB to 2 GiB; `GpuContext.maxBindingBytes`), so
 * a `RowCache` larger than one binding is split into chunks of whole rows (images).
 */
import type { ForwardHooks } from '../model/vit.js';
import { gatherRows } from '../ops/gather-rows.js';
import type { GpuContext, Tensor } from '../runtime/context.js';

/** How a RowCache splits its rows: at most this many bytes per chunk, or exactly this many rows per chunk (the last may be shorter). */
export type Chunking = number | { rowsPerChunk: number };

/** A [count, ...row] tensor kept as chunks of whole rows, each within `chunking`. */
export class RowCache {
  readonly chunks: Tensor[] = [];
  readonly rowSize: number;
  readonly rowsPerChunk: number;

  constructor(
    private readonly ctx: GpuContext,
    readonly count: number,
    readonly rowShape: readonly number[],
    label: string,
    chunking: Chunking = ctx.maxBindingBytes,
  ) {
    this.rowSize = rowShape.reduce((a, b) => a * b, 1);
    const rows = typeof chunking === 'number' ? Math.floor(chunking / (4 * this.rowSize)) : chunking.rowsPerChunk;
    this.rowsPerChunk = Math.max(1, Math.min(count, rows));
    for (let first = 0; first < count; first += this.rowsPerChunk) {
      const n = Math.min(this.rowsPerChunk, count - first);
      this.chunks.push(ctx.empty([n, ...rowShape], `${label}[${first}..${first + n})`));
    }
  }

  /** A cache holding host rows [count, ...rowShape]. */
  static upload(ctx: GpuContext, data: Float32Array, count: number, rowShape: readonly number[], label: string, chunking?: Chunking): RowCache {
    if (data.length !== count * rowShape.reduce((a, b) => a * b, 1)) throw new Error(`${label}: ${data.length} values for ${count} rows of [${rowShape}]`);
    const cache = new RowCache(ctx, count, rowShape, label, chunking);
    cache.chunks.forEach((chunk, c) => ctx.write(chunk, data.subarray(c * cache.rowsPerChunk * cache.rowSize, c * cache.rowsPerChunk * cache.rowSize + chunk.size)));
    return cache;
  }

  /** Calls fn(chunk, first row of chunk, row offset in the range, rows) for the chunks a row range touches. */
  private forRange(from: number, rows: number, fn: (chunk: Tensor, chunkRow: number, rangeRow: number, n: number) => void): void {
    for (let r = from; r < from + rows; ) {
      const c = Math.floor(r / this.rowsPerChunk);
      const chunkRow = r - c * this.rowsPerChunk;
      const n = Math.min(from + rows - r, this.chunks[c].shape[0] - chunkRow);
      fn(this.chunks[c], chunkRow, r - from, n);
      r += n;
    }
  }

  /** Copies t [rows, ...row] into rows from .. from + rows - 1. */
  put(t: Tensor, from: number): void {
    const rows = t.size / this.rowSize;
    this.forRange(from, rows, (chunk, chunkRow, rangeRow, n) => this.ctx.copy(t, chunk, n * this.rowSize, rangeRow * this.rowSize, chunkRow * this.rowSize));
  }

  /** A new tensor [rows, ...row] with rows from .. from + rows - 1. */
  slice(from: number, rows: number, label: string): Tensor {
    const out = this.ctx.empty([rows, ...this.rowShape], label);
    this.forRange(from, rows, (chunk, chunkRow, rangeRow, n) => this.ctx.copy(chunk, out, n * this.rowSize, chunkRow * this.rowSize, rangeRow * this.rowSize));
    return out;
  }

  /** out[b] = row indices[b] (u32 indices), one dispatch per chunk. */
  gather(indices: Tensor, out: Tensor): void {
    this.chunks.forEach((chunk, c) => gatherRows(this.ctx, chunk, indices, this.rowSize, out, c * this.rowsPerChunk));
  }

  /** Every row, read back to the host (one readback per chunk). */
  async read(): Promise<Float32Array> {
    const out = new Float32Array(this.count * this.rowSize);
    for (const [c, chunk] of this.chunks.entries()) out.set(await this.ctx.read(chunk), c * this.rowsPerChunk * this.rowSize);
    return out;
  }

  release(): void {
    for (const t of this.chunks) t.release();
    this.chunks.length = 0;
  }
}

/**
 * Hooks that gather the tensors at the named points into RowCaches (and leave the forward unchanged).
 * A point's tensor holds the batch's images in order, each as one or more leading rows (a Swin's
 * windows): its cache keeps rows of t.shape[1..], whole images per chunk.
 */
export class CaptureHooks implements ForwardHooks {
  readonly gathered = new Map<string, RowCache>();
  private from = 0;
  private images = 1;
  constructor(
    private readonly ctx: GpuContext,
    private readonly total: number,
    private readonly points: ReadonlySet<string>,
    private readonly chunking?: Chunking,
  ) {}

  /** The images the next forward runs: from .. from + images - 1 of the calibration set. */
  batch(from: number, images: number): void {
    this.from = from;
    this.images = images;
  }

  activation(point: string, t: Tensor): Tensor {
    if (this.points.has(point)) {
      const perImage = t.shape[0]! / this.images;
      if (!Number.isInteger(perImage)) throw new Error(`${point}: [${t.shape}] is not ${this.images} images of whole rows`);
      let g = this.gathered.get(point);
      if (!g) {
        const chunking = typeof this.chunking === 'object' ? { rowsPerChunk: this.chunking.rowsPerChunk * perImage } : this.chunking;
        g = new RowCache(this.ctx, this.total * perImage, t.shape.slice(1), point, chunking);
        this.gathered.set(point, g);
      }
      g.put(t, this.from * perImage);
    }
    return t;
  }

  take(point: string): RowCache {
    const g = this.gathered.get(point);
    if (!g) throw new Error(`point ${point} was not captured`);
    return g;
  }

  release(): void {
    for (const g of this.gathered.values()) g.release();
    this.gathered.clear();
  }
}

/** Calls run(from, count) for consecutive batches covering `total` images. */
export function forBatches(total: number, batch: number, run: (from: number, count: number) => void): void {
  for (let from = 0; from < total; from += batch) run(from, Math.min(batch, total - from));
}
