/**
 * Storage buffers reused by size. Releasing a buffer makes it available to the next acquire at
 * once: WebGPU orders all work on one queue, so a later dispatch that overwrites a released buffer
 * runs after every earlier dispatch that read it. Buffers are only destroyed by `dispose()`, which
 * the context calls after its last submit. `reuse: false` turns pooling off for debugging: each
 * released buffer is then destroyed after the next submit.
 */
export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private readonly all = new Set<GPUBuffer>();
  private readonly destroyAfterSubmit: GPUBuffer[] = [];
  private liveBytes = 0;
  peakBytes = 0;
  /** Bytes of every buffer that exists, in use or pooled: what the device holds. */
  allocatedBytes = 0;
  peakAllocatedBytes = 0;
  /** GPU buffers created so far: a planned forward that allocates nothing leaves it unchanged. */
  created = 0;

  constructor(private readonly device: GPUDevice, private readonly reuse: boolean) {}

  /** Sizes are bucketed to multiples of 256 bytes (up to 64 KiB) or of 1/16 of the next power of two, to raise reuse. */
  static bucket(bytes: number): number {
    const b = Math.max(16, bytes);
    if (b <= 65536) return Math.ceil(b / 256) * 256;
    const step = 2 ** Math.ceil(Math.log2(b)) / 16;
    return Math.ceil(b / step) * step;
  }

  /**
   * A buffer of at least `bytes`. A new buffer is created inside an out-of-memory error scope;
   * `onAllocationError` receives the scope's verdict (null when it worked), since WebGPU reports a
   * failed allocation asynchronously.
   */
  acquire(bytes: number, label: string, onAllocationError?: (verdict: Promise<string | null>) => void): GPUBuffer {
    const size = BufferPool.bucket(bytes);
    const reused = this.reuse ? this.free.get(size)?.pop() : undefined;
    if (reused) {
      reused.label = label;
      this.track(size);
      return reused;
    }
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    this.device.pushErrorScope('out-of-memory');
    const buffer = this.device.createBuffer({ size, usage, label });
    const allocated = this.allocatedBytes;
    onAllocationError?.(this.device.popErrorScope().then((e) => (e ? `allocating ${label} (${size} bytes, with ${allocated} bytes already allocated) failed: ${e.message}` : null)));
    this.created++;
    this.all.add(buffer);
    this.allocatedBytes += size;
    this.peakAllocatedBytes = Math.max(this.peakAllocatedBytes, this.allocatedBytes);
    this.track(size);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    this.liveBytes -= buffer.size;
    if (!this.reuse) {
      this.all.delete(buffer);
      this.destroyAfterSubmit.push(buffer);
      return;
    }
    const list = this.free.get(buffer.size) ?? [];
    list.push(buffer);
    this.free.set(buffer.size, list);
  }

  /** Called by the context once the work recorded so far has been submitted. */
  afterSubmit(): void {
    for (const b of this.destroyAfterSubmit.splice(0)) {
      this.allocatedBytes -= b.size;
      b.destroy();
    }
  }

  /**
   * Destroys the pooled buffers nobody uses. Between phases whose tensors differ in size (the
   * calibration search of one block, the reconstruction of a unit), pooled buffers of the old
   * sizes would otherwise stay allocated for nothing.
   */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        this.all.delete(b);
        this.destroyAfterSubmit.push(b);
      }
    }
    this.free.clear();
  }

  get bytesInUse(): number {
    return this.liveBytes;
  }

  dispose(): void {
    for (const b of this.all) b.destroy();
    this.all.clear();
    this.free.clear();
    this.liveBytes = 0;
    this.allocatedBytes = 0;
  }

  private track(size: number): void {
    this.liveBytes += size;
    this.peakBytes = Math.max(this.peakBytes, this.liveBytes);
  }
}
