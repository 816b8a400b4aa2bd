/**
 * Per-kernel GPU time. With the `timestamp-query` feature each profiled dispatch gets its own
 * compute pass whose beginning and end are timestamped; without it, the context submits each
 * dispatch alone and the profiler times the gap between consecutive completions by wall clock
 * (which includes submission overhead, so it is an upper bound).
 */
export interface KernelTiming {
  name: string;
  calls: number;
  milliseconds: number;
}

const MAX_QUERIES = 4096;

export class Profiler {
  private readonly querySet: GPUQuerySet | null;
  private readonly resolveBuffer: GPUBuffer | null;
  private labels: string[] = [];
  private readonly pending: Promise<void>[] = [];
  private readonly totals = new Map<string, { calls: number; ms: number }>();
  private queued: { readback: GPUBuffer; labels: string[] } | null = null;
  private lastDone = 0;

  constructor(private readonly device: GPUDevice, readonly usesTimestamps: boolean) {
    this.querySet = usesTimestamps ? device.createQuerySet({ label: 'profiler', type: 'timestamp', count: MAX_QUERIES }) : null;
    this.resolveBuffer = usesTimestamps
      ? device.createBuffer({
          label: 'profiler:resolve',
          size: MAX_QUERIES * 8,
          usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
        })
      : null;
  }

  /** Timestamp writes for the pass that will hold the next dispatch, or undefined in wall-clock mode. */
  timestampWritesFor(label: string): GPUComputePassTimestampWrites | undefined {
    if (!this.querySet) {
      this.labels.push(label);
      return undefined;
    }
    if ((this.labels.length + 1) * 2 > MAX_QUERIES) throw new Error('profiler: too many dispatches in one submit');
    const i = this.labels.length;
    this.labels.push(label);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Called by the context just before it finishes the command encoder. */
  resolve(encoder: GPUCommandEncoder): void {
    if (!this.querySet || !this.resolveBuffer || this.labels.length === 0) return;
    const count = this.labels.length * 2;
    const labels = this.labels;
    this.labels = [];
    const readback = this.device.createBuffer({
      label: 'profiler:readback',
      size: count * 8,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    encoder.resolveQuerySet(this.querySet, 0, count, this.resolveBuffer, 0);
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, readback, 0, count * 8);
    this.queued = { readback, labels };
  }

  /** Called by the context right after submit. */
  afterSubmit(): void {
    if (this.queued) {
      const { readback, labels } = this.queued;
      this.queued = null;
      this.pending.push(
        readback.mapAsync(GPUMapMode.READ).then(() => {
          const ticks = new BigInt64Array(readback.getMappedRange());
          labels.forEach((label, i) => this.add(label, Number(ticks[2 * i + 1] - ticks[2 * i]) / 1e6));
          readback.destroy();
        }),
      );
      return;
    }
    if (!this.querySet && this.labels.length > 0) {
      const labels = this.labels;
      this.labels = [];
      const submitted = performance.now();
      this.pending.push(
        this.device.queue.onSubmittedWorkDone().then(() => {
          const done = performance.now();
          const ms = done - Math.max(submitted, this.lastDone);
          this.lastDone = done;
          for (const label of labels) this.add(label, ms / labels.length);
        }),
      );
    }
  }

  private add(label: string, ms: number): void {
    const t = this.totals.get(label) ?? { calls: 0, ms: 0 };
    t.calls++;
    t.ms += ms;
    this.totals.set(label, t);
  }

  async collect(device: GPUDevice): Promise<KernelTiming[]> {
    await device.queue.onSubmittedWorkDone();
    await Promise.all(this.pending.splice(0));
    const out = [...this.totals].map(([name, t]) => ({ name, calls: t.calls, milliseconds: t.ms }));
    this.totals.clear();
    return out.sort((a, b) => b.milliseconds - a.milliseconds);
  }

  dispose(): void {
    this.querySet?.destroy();
    this.resolveBuffer?.destroy();
  }
}
