/**
 * A [count, ...row] cache of unit inputs or outputs for the whole calibration set, kept on the GPU.
 * A storage binding is limited (maxStorageBufferBindingSize, often 128 MiB to 2 GiB), so a cache
 * larger than one binding is split into chunks of whole rows; minibatches are gathered with one
 * dispatch per chunk.
 */
import { gatherRows } from '../ops/gather-rows.js';
import type { GpuContext, Tensor } from '../runtime/context.js';

export class RowCache {
  readonly chunks: Tensor[] = [];
  readonly rowSize: number;
  readonly rowsPerChunk: number;

  constructor(
    private readonly ctx: GpuContext,
    readonly count: number,
    readonly rowShape: readonly number[],
    label: string,
    maxChunkBytes = ctx.limits.maxStorageBufferBindingSize,
  ) {
    this.rowSize = rowShape.reduce((a, b) => a * b, 1);
    this.rowsPerChunk = Math.max(1, Math.min(count, Math.floor(maxChunkBytes / (4 * this.rowSize))));
    for (let first = 0; first < count; first += this.rowsPerChunk) {
      const rows = Math.min(this.rowsPerChunk, count - first);
      this.chunks.push(ctx.empty([rows, ...rowShape], `${label}[${first}..${first + rows})`));
    }
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

  release(): void {
    for (const t of this.chunks) t.release();
    this.chunks.length = 0;
  }
}
