/**
 * The one layer that touches the GPUDevice: pipelines, buffers, recording, readback, timing.
 * Ops describe work with pure descriptors (src/runtime/kernel.ts) and call `ctx.dispatch`.
 */
import { BufferPool } from './buffer-pool.js';
import { type KernelDescriptor, type OverrideValues, type UniformValues, packUniforms, pipelineKey, shaderCodeFor, uniformByteSize } from './kernel.js';
import { DeviceLostError, GpuMemoryError } from '../util/errors.js';
import { Profiler, type KernelTiming } from './profiler.js';

export type ShaderSource = (name: string) => string;

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  fallback: boolean;
  backend: string;
}

export interface ContextOptions {
  /** Submit after every op (to find which op failed); also makes `profile` time each op by wall clock. */
  debug?: boolean;
  /** Reuse released buffers (default true); turn off to catch use-after-release. */
  reuseBuffers?: boolean;
  /** Record per-kernel GPU time with timestamp queries, or wall clock where the adapter has none. */
  profile?: boolean;
  /** Dispatches recorded before the open pass is submitted. */
  dispatchesPerSubmit?: number;
  /** Fill every new tensor with NaN, so a kernel that skips an element is caught. */
  poison?: boolean;
  /** WGSL language features to treat as missing, so tests can run the portable shader variants. */
  disableLanguageFeatures?: string[];
  /**
   * The largest storage binding (bytes) the context allows, where below the adapter's
   * maxStorageBufferBindingSize and maxBufferSize: `empty()` refuses larger tensors and whatever
   * splits data into chunks (`maxBindingBytes`) sizes them to it. Tests lower it to run the
   * chunked paths on small models.
   */
  maxBindingBytes?: number;
  /**
   * The dispatch census (bench/census.ts): `observe` sees every dispatch, clear and copy as it is
   * recorded. With `recordOnly` nothing is compiled, encoded or submitted, so every result and
   * every value read back is garbage: a tool that counts work, never one that computes. The
   * adapter's backend then says so.
   */
  census?: { observe: (e: CensusEvent) => void; recordOnly?: boolean };
  /**
   * The kind of device kernels are chosen and sized for. 'gpu': a product with fewer than
   * GPU_FILL_WORKGROUPS workgroups is split along K (matmul's `kSlices`) so that it fills the
   * device. 'cpu' (SwiftShader): no split, since its few threads are busy with any dispatch and a
   * split only adds work, and single products whose operands are rows of K contiguous values read
   * them from textures (`rowTexture`), four values per fetch, where a storage buffer costs a
   * gather per value. Default: 'cpu' on a CPU adapter, else 'gpu'. The census sets 'gpu' to model
   * GPUs whatever adapter records it.
   */
  tuning?: 'gpu' | 'cpu';
  /**
   * How the host awaits the device (its queue, a mapping) on a CPU adapter. dawn-node polls for
   * completion with back-to-back setImmediate callbacks while one of its promises is pending, a
   * core at 100 %, and on a CPU adapter that core is one the device's own threads need (on 2 cores
   * SwiftShader's two threads got about 60 % each). The Node entry passes a wait that sleeps a
   * millisecond between polls (node-gpu.ts, `sleepingWait`); browsers, whose main thread cannot
   * sleep, pass none. Other adapters await directly.
   */
  hostWait?: <T>(p: Promise<T>) => Promise<T>;
}

/** Workgroups that keep a GPU busy: an H100 has 132 SMs, a laptop GPU a few dozen compute units. */
export const GPU_FILL_WORKGROUPS = 64;

/** Whether the adapter is a CPU implementation (SwiftShader, or any adapter marked as a fallback). */
export function isCpuAdapter(a: AdapterSummary): boolean {
  return a.fallback || /swiftshader/i.test(`${a.architecture} ${a.description}`);
}

/** What the census observes: a dispatch as recorded, or a clear or copy of `bytes` bytes. */
export type CensusEvent =
  | { kind: 'dispatch'; desc: KernelDescriptor; uniforms: UniformValues; grid: [number, number, number]; overrides: OverrideValues; buffers: readonly Tensor[] }
  | { kind: 'clear' | 'copy'; bytes: number };

export type TensorDtype = 'f32' | 'u32' | 'i32';

/** A GPU storage buffer with a shape; element type is 32-bit. */
export class Tensor {
  private released = false;
  constructor(
    readonly ctx: GpuContext,
    readonly buffer: GPUBuffer,
    readonly shape: readonly number[],
    readonly dtype: TensorDtype,
  ) {}

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  get byteLength(): number {
    return this.size * 4;
  }

  /** Returns the buffer to the pool; the tensor must not be used afterwards. */
  release(): void {
    if (this.released) throw new Error(`tensor ${this.buffer.label} released twice`);
    this.released = true;
    this.ctx.releaseBuffer(this.buffer);
  }
}

/**
 * A matrix's rows as an rgba32float texture, for kernels that read four values per fetch. Rows come
 * in blocks of `rowsPerBlock` (the texture's height at most): texel (b * cols / 4 + j, i) holds
 * values 4j..4j+3 of row b * rowsPerBlock + i.
 */
export class RowTexture {
  private released = false;
  constructor(
    private readonly ctx: GpuContext,
    readonly texture: GPUTexture,
    readonly view: GPUTextureView,
    readonly rows: number,
    readonly cols: number,
    readonly rowsPerBlock: number,
  ) {}

  /** Returns the texture to the context's pool; work recorded before still reads it. */
  release(): void {
    if (this.released) throw new Error('RowTexture released twice');
    this.released = true;
    this.ctx.releaseTexture(this.texture, this.view);
  }
}

export interface ContextStats {
  dispatches: number;
  submits: number;
  readbacks: number;
  pipelines: number;
}

const UNIFORM_SLOT = 256;

export class GpuContext {
  readonly stats: ContextStats = { dispatches: 0, submits: 0, readbacks: 0, pipelines: 0 };
  readonly limits: GPUSupportedLimits;
  readonly features: ReadonlySet<string>;
  /** WGSL language features the engine may use (the adapter's, less `disableLanguageFeatures`). */
  readonly languageFeatures: ReadonlySet<string>;
  private readonly pool: BufferPool;
  private readonly pipelines = new Map<string, { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }>();
  private readonly layouts = new Map<string, GPUBindGroupLayout>();
  private readonly modules = new Map<string, { module: GPUShaderModule; label: string }>();
  private readonly dispatchesPerSubmit: number;
  private readonly uniformStaging: ArrayBuffer;
  private readonly uniformView: DataView;
  private uniformBuffer: GPUBuffer;
  private uniformUsed = 0;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly profiler: Profiler | null;
  private lost: string | null = null;
  /** Errors the device reported outside any scope (the first few), thrown at the next sync or read. */
  private readonly uncaptured: string[] = [];
  private placeholderTensor: Tensor | null = null;
  /** See `ContextOptions.tuning`. */
  readonly tuning: 'gpu' | 'cpu';
  /** Awaits a promise of the device's (see `ContextOptions.hostWait`). */
  private readonly settle: <T>(p: Promise<T>) => Promise<T>;
  private readonly freeTextures = new Map<string, { texture: GPUTexture; view: GPUTextureView }[]>();
  private readonly textures = new Set<GPUTexture>();
  private readonly pendingErrors: Promise<string | null>[] = [];

  constructor(
    /** Held for the device's lifetime: dawn.node tears its instance down when this is collected. */
    readonly gpu: GPU,
    readonly device: GPUDevice,
    readonly adapter: AdapterSummary,
    private readonly shaderSource: ShaderSource,
    private readonly options: ContextOptions = {},
  ) {
    if (options.census?.recordOnly) this.adapter = { ...adapter, backend: `${adapter.backend}, census record-only: nothing runs` };
    const cpu = isCpuAdapter(adapter);
    this.tuning = options.tuning ?? (cpu ? 'cpu' : 'gpu');
    this.settle = (cpu && options.hostWait) || (<T>(p: Promise<T>) => p);
    this.limits = device.limits;
    this.features = new Set(device.features);
    const disabled = new Set(options.disableLanguageFeatures ?? []);
    this.languageFeatures = new Set([...(gpu.wgslLanguageFeatures ?? [])].filter((f) => !disabled.has(f)));
    this.pool = new BufferPool(device, options.reuseBuffers ?? true);
    const timestamps = this.features.has('timestamp-query');
    const submitEachOp = options.debug || (options.profile && !timestamps);
    this.dispatchesPerSubmit = submitEachOp ? 1 : (options.dispatchesPerSubmit ?? 64);
    this.uniformStaging = new ArrayBuffer(this.dispatchesPerSubmit * UNIFORM_SLOT);
    this.uniformView = new DataView(this.uniformStaging);
    this.uniformBuffer = this.createUniformBuffer();
    this.profiler = options.profile ? new Profiler(device, timestamps) : null;
    void device.lost.then((info) => {
      this.lost = info.message ? `${info.reason}: ${info.message}` : String(info.reason);
    });
    device.addEventListener('uncapturederror', (e) => {
      if (this.uncaptured.length < 8) this.uncaptured.push((e as GPUUncapturedErrorEvent).error.message);
    });
  }

  // ---- tensors -------------------------------------------------------------------------------

  /** Workgroups one dispatch needs to occupy the device (see `ContextOptions.tuning`). */
  get fillWorkgroups(): number {
    return this.tuning === 'gpu' ? GPU_FILL_WORKGROUPS : 1;
  }

  /** The largest tensor (bytes) one storage binding holds: the adapter's limits, or `maxBindingBytes` where lower. */
  get maxBindingBytes(): number {
    return Math.min(this.limits.maxStorageBufferBindingSize, this.limits.maxBufferSize, this.options.maxBindingBytes ?? Infinity);
  }

  /** An uninitialised tensor from the pool. */
  empty(shape: readonly number[], label: string, dtype: TensorDtype = 'f32'): Tensor {
    const size = shape.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(size) || size < 0) throw new Error(`${label}: bad shape [${shape}]`);
    const bytes = size * 4;
    this.checkLost();
    const limit = this.maxBindingBytes;
    if (bytes > limit) {
      const which =
        limit === this.options.maxBindingBytes ? "context's maxBindingBytes" : limit === this.limits.maxBufferSize ? "adapter's maxBufferSize" : "adapter's maxStorageBufferBindingSize";
      throw new GpuMemoryError(`${label}: needs a ${bytes}-byte buffer, above this ${which} (${limit} bytes); use fewer images or a smaller batch`);
    }
    const t = new Tensor(this, this.pool.acquire(bytes, label, (verdict) => this.pendingErrors.push(verdict.then((m) => m && `out of memory: ${m}`))), shape, dtype);
    if (this.options.poison) this.write(t, new Uint32Array(size).fill(0x7fc00000));
    return t;
  }

  /** A tensor holding `data` (copied through the queue, ordered before later dispatches). */
  upload(data: Float32Array | Uint32Array | Int32Array, shape: readonly number[], label: string): Tensor {
    const dtype: TensorDtype = data instanceof Float32Array ? 'f32' : data instanceof Uint32Array ? 'u32' : 'i32';
    const t = this.empty(shape, label, dtype);
    if (t.size !== data.length) throw new Error(`${label}: ${data.length} values for shape [${shape}]`);
    this.write(t, data);
    return t;
  }

  /** Overwrites a tensor's contents from the host; recorded work before this call sees the old contents. */
  write(t: Tensor, data: Float32Array | Uint32Array | Int32Array, elementOffset = 0): void {
    this.flush();
    this.device.queue.writeBuffer(t.buffer, elementOffset * 4, data.buffer, data.byteOffset, data.byteLength);
  }

  /** A small tensor bound where a kernel variant ignores a binding (e.g. matmul without bias). */
  get placeholder(): Tensor {
    this.placeholderTensor ??= this.upload(new Float32Array(4), [4], 'placeholder');
    return this.placeholderTensor;
  }

  releaseBuffer(buffer: GPUBuffer): void {
    this.pool.release(buffer);
  }

  get bytesInUse(): number {
    return this.pool.bytesInUse;
  }

  get peakBytes(): number {
    return this.pool.peakBytes;
  }

  /** Frees the pooled buffers no tensor uses (after the work recorded so far), e.g. between phases. */
  trimPool(): void {
    this.flush();
    this.pool.trim();
    this.pool.afterSubmit();
  }

  /** Bytes of every storage buffer the context holds (in use or pooled for reuse), and their peak. */
  get allocatedBytes(): number {
    return this.pool.allocatedBytes;
  }

  get peakAllocatedBytes(): number {
    return this.pool.peakAllocatedBytes;
  }

  /** Starts the peaks over from what is held now, to measure one phase of a run. */
  resetPeaks(): void {
    this.pool.peakAllocatedBytes = this.pool.allocatedBytes;
    this.pool.peakBytes = this.pool.bytesInUse;
  }

  /** Storage buffers created so far (pool misses). */
  get buffersCreated(): number {
    return this.pool.created;
  }

  // ---- row textures ------------------------------------------------------------------------

  /** Row blocks of a [rows, cols] matrix in one texture of at most maxTextureDimension2D texels a side. */
  private rowBlocks(rows: number): { rowsPerBlock: number; blocks: number } {
    const rowsPerBlock = Math.max(1, Math.min(rows, this.limits.maxTextureDimension2D));
    return { rowsPerBlock, blocks: Math.ceil(rows / rowsPerBlock) };
  }

  /**
   * Whether `rowTexture` can copy these rows: cols a multiple of 4, a row stride of whole 256-byte
   * lines and a 16-byte aligned offset (the buffer-to-texture copy's rules), blocks side by side
   * within the texture's width.
   */
  rowTextureFits(rows: number, cols: number, rowStride: number, offset: number): boolean {
    if (rows < 1 || cols < 4 || cols % 4 !== 0 || rowStride < cols || (rowStride * 4) % 256 !== 0 || (offset * 4) % 16 !== 0) return false;
    const { blocks } = this.rowBlocks(rows);
    return (blocks * cols) / 4 <= this.limits.maxTextureDimension2D;
  }

  /**
   * Copies rows of a matrix (row r at element offset + r * rowStride, `cols` values) into a pooled
   * texture, in queue order (after every dispatch recorded so far). Check `rowTextureFits` first.
   */
  rowTexture(t: Tensor, rows: number, cols: number, rowStride: number, offset: number, label: string): RowTexture {
    if (!this.rowTextureFits(rows, cols, rowStride, offset)) throw new Error(`${label}: ${rows}x${cols} rows (stride ${rowStride}, offset ${offset}) do not fit a row texture`);
    if (offset + (rows - 1) * rowStride + cols > t.size) throw new Error(`${label}: rows reach past the end of [${t.shape}]`);
    this.checkLost();
    const { rowsPerBlock, blocks } = this.rowBlocks(rows);
    const width = (blocks * cols) / 4;
    this.options.census?.observe({ kind: 'copy', bytes: rows * cols * 4 });
    const key = `${width}x${rowsPerBlock}`;
    const free = this.freeTextures.get(key)?.pop();
    const texture =
      free?.texture ??
      this.device.createTexture({ label, size: [width, rowsPerBlock], format: 'rgba32float', usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST });
    if (!free) this.textures.add(texture);
    const view = free?.view ?? texture.createView({ label });
    if (!this.options.census?.recordOnly) {
      this.closePass();
      if (!this.encoder) this.encoder = this.device.createCommandEncoder({ label: 'fimaq' });
      for (let b = 0; b < blocks; b++) {
        const n = Math.min(rowsPerBlock, rows - b * rowsPerBlock);
        this.encoder.copyBufferToTexture(
          { buffer: t.buffer, offset: (offset + b * rowsPerBlock * rowStride) * 4, bytesPerRow: rowStride * 4, rowsPerImage: n },
          { texture, origin: [(b * cols) / 4, 0, 0] },
          [cols / 4, n, 1],
        );
      }
    }
    return new RowTexture(this, texture, view, rows, cols, rowsPerBlock);
  }

  releaseTexture(texture: GPUTexture, view: GPUTextureView): void {
    const key = `${texture.width}x${texture.height}`;
    const list = this.freeTextures.get(key) ?? [];
    list.push({ texture, view });
    this.freeTextures.set(key, list);
  }

  // ---- pipelines -----------------------------------------------------------------------------

  private layoutFor(desc: KernelDescriptor): GPUBindGroupLayout {
    let layout = this.layouts.get(desc.name);
    if (!layout) {
      const entries: GPUBindGroupLayoutEntry[] = [
        { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } },
        ...desc.storage.map((s, i) => ({
          binding: i + 1,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: s.access === 'read' ? ('read-only-storage' as const) : ('storage' as const) },
        })),
        ...(desc.textures ?? []).map((_, i) => ({
          binding: 1 + desc.storage.length + i,
          visibility: GPUShaderStage.COMPUTE,
          texture: { sampleType: 'unfilterable-float' as const, viewDimension: '2d' as const },
        })),
      ];
      layout = this.device.createBindGroupLayout({ label: desc.name, entries });
      this.layouts.set(desc.name, layout);
    }
    return layout;
  }

  /** The kernel's shader module and the label its compilation errors carry. */
  private moduleFor(desc: KernelDescriptor): { module: GPUShaderModule; label: string } {
    let entry = this.modules.get(desc.name);
    if (!entry) {
      const { label, code } = shaderCodeFor(desc, this.languageFeatures, this.shaderSource);
      // Compilation errors are reported from getCompilationInfo() with line numbers; the scope
      // keeps Dawn from also printing them as uncaptured errors.
      this.device.pushErrorScope('validation');
      entry = { module: this.device.createShaderModule({ label: desc.name, code }), label };
      void this.device.popErrorScope();
      this.modules.set(desc.name, entry);
    }
    return entry;
  }

  /**
   * Compiles a kernel ahead of use and throws WGSL compilation errors with file, line and column.
   * Optional: `dispatch` creates missing pipelines itself and reports such errors at the next sync.
   */
  async prepare(desc: KernelDescriptor, overrides: OverrideValues = {}): Promise<void> {
    const { module, label } = this.moduleFor(desc);
    const info = await module.getCompilationInfo();
    const text = formatCompilationErrors(label, info);
    if (text) throw new Error(`WGSL compilation failed\n${text}`);
    this.pipelineFor(desc, overrides);
    await this.throwPendingErrors();
  }

  private pipelineFor(desc: KernelDescriptor, overrides: OverrideValues): { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout } {
    const key = pipelineKey(desc, overrides);
    let entry = this.pipelines.get(key);
    if (entry) return entry;
    this.device.pushErrorScope('validation');
    const { module, label } = this.moduleFor(desc);
    const layout = this.layoutFor(desc);
    const pipeline = this.device.createComputePipeline({
      label: desc.name,
      layout: this.device.createPipelineLayout({ label: desc.name, bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: desc.entryPoint, constants: { ...desc.overrides, ...overrides } },
    });
    this.pendingErrors.push(
      Promise.all([this.device.popErrorScope(), module.getCompilationInfo()]).then(([error, info]) => {
        if (!error) return null;
        const text = formatCompilationErrors(label, info);
        return `pipeline ${desc.name}: ${error.message}${text ? `\n${text}` : ''}`;
      }),
    );
    entry = { pipeline, layout };
    this.pipelines.set(key, entry);
    this.stats.pipelines++;
    return entry;
  }

  /**
   * Throws what the device reported since the last check: a lost device, a failed allocation (as
   * GpuMemoryError with the size against the adapter's limits), any other error (a bug).
   */
  private async throwPendingErrors(): Promise<void> {
    const messages = (await Promise.all(this.pendingErrors.splice(0))).filter((m): m is string => m !== null);
    messages.push(...this.uncaptured.splice(0));
    this.checkLost();
    if (messages.length === 0) return;
    const memory = messages.find((m) => /out of memory/i.test(m));
    if (memory) {
      throw new GpuMemoryError(`${memory.replace(/\s*\n\s*/g, ' ')} (the adapter allows buffers of up to ${this.limits.maxBufferSize} bytes; the context holds ${this.allocatedBytes})`);
    }
    throw new Error(messages.join('\n'));
  }

  private checkLost(): void {
    if (this.lost) throw new DeviceLostError(`the GPU device was lost (${this.lost}); the work in progress is gone`);
  }

  /** Whether the device has been lost (a reset driver, a destroyed device). */
  get isLost(): boolean {
    return this.lost !== null;
  }

  // ---- recording -----------------------------------------------------------------------------

  /** Records one dispatch; recording never waits for the GPU. */
  dispatch(
    desc: KernelDescriptor,
    uniforms: UniformValues,
    buffers: Tensor[],
    grid: [number, number, number],
    overrides: OverrideValues = {},
    textures: readonly RowTexture[] = [],
  ): void {
    this.checkLost();
    if (buffers.length !== desc.storage.length) {
      throw new Error(`${desc.name}: ${buffers.length} buffers for ${desc.storage.length} bindings`);
    }
    if (textures.length !== (desc.textures?.length ?? 0)) {
      throw new Error(`${desc.name}: ${textures.length} textures for ${desc.textures?.length ?? 0} bindings`);
    }
    const census = this.options.census;
    census?.observe({ kind: 'dispatch', desc, uniforms, grid, overrides, buffers });
    if (census?.recordOnly) {
      // Still checks the uniforms as a real dispatch would; slot 0 is scratch, nothing is encoded.
      packUniforms(desc, uniforms, this.uniformView, 0);
      this.stats.dispatches++;
      return;
    }
    const entry = this.pipelineFor(desc, overrides);
    if (this.uniformUsed + UNIFORM_SLOT > this.uniformStaging.byteLength) this.flush();
    const uniformOffset = this.uniformUsed;
    packUniforms(desc, uniforms, this.uniformView, uniformOffset);
    this.uniformUsed += UNIFORM_SLOT;
    const bindGroup = this.device.createBindGroup({
      label: desc.name,
      layout: entry.layout,
      entries: [
        { binding: 0, resource: { buffer: this.uniformBuffer, offset: uniformOffset, size: uniformByteSize(desc) } },
        ...buffers.map((t, i) => ({ binding: i + 1, resource: { buffer: t.buffer, offset: 0, size: t.byteLength || 4 } })),
        ...textures.map((t, i) => ({ binding: 1 + buffers.length + i, resource: t.view })),
      ],
    });
    const pass = this.openPass(desc.name);
    pass.setPipeline(entry.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    this.stats.dispatches++;
    if (this.profiler) {
      this.closePass();
    }
    if (this.uniformUsed + UNIFORM_SLOT > this.uniformStaging.byteLength) this.flush();
  }

  private openPass(label: string): GPUComputePassEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder({ label: 'fimaq' });
    if (!this.pass) {
      const timestampWrites = this.profiler?.timestampWritesFor(label);
      this.pass = this.encoder.beginComputePass(timestampWrites ? { label, timestampWrites } : { label });
    }
    return this.pass;
  }

  private closePass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /** Zero-fills a tensor in queue order (after every dispatch recorded so far). */
  clear(t: Tensor): void {
    this.options.census?.observe({ kind: 'clear', bytes: t.byteLength });
    if (this.options.census?.recordOnly) return;
    this.closePass();
    if (!this.encoder) this.encoder = this.device.createCommandEncoder({ label: 'fimaq' });
    this.encoder.clearBuffer(t.buffer, 0, Math.ceil(t.byteLength / 4) * 4);
  }

  /** Copies between tensors in queue order (after every dispatch recorded so far). */
  copy(src: Tensor, dst: Tensor, elements = src.size, srcOffset = 0, dstOffset = 0): void {
    this.options.census?.observe({ kind: 'copy', bytes: elements * 4 });
    if (this.options.census?.recordOnly) return;
    this.closePass();
    if (!this.encoder) this.encoder = this.device.createCommandEncoder({ label: 'fimaq' });
    this.encoder.copyBufferToBuffer(src.buffer, srcOffset * 4, dst.buffer, dstOffset * 4, elements * 4);
  }

  /** Submits everything recorded so far. */
  flush(): void {
    this.closePass();
    if (!this.encoder) return;
    if (this.uniformUsed > 0) this.device.queue.writeBuffer(this.uniformBuffer, 0, this.uniformStaging, 0, this.uniformUsed);
    this.profiler?.resolve(this.encoder);
    this.device.queue.submit([this.encoder.finish()]);
    this.profiler?.afterSubmit();
    this.encoder = null;
    this.uniformUsed = 0;
    this.stats.submits++;
    this.pool.afterSubmit();
  }

  /** Waits until the GPU has finished all submitted work. */
  async sync(): Promise<void> {
    this.flush();
    await this.settle(this.device.queue.onSubmittedWorkDone());
    await this.throwPendingErrors();
  }

  // ---- readback ------------------------------------------------------------------------------

  /** Copies a tensor back to the host. Counted in `stats.readbacks`: hot loops must not call it. */
  async read(t: Tensor): Promise<Float32Array> {
    return new Float32Array(await this.readBytes(t));
  }

  async readU32(t: Tensor): Promise<Uint32Array> {
    return new Uint32Array(await this.readBytes(t));
  }

  private async readBytes(t: Tensor): Promise<ArrayBuffer> {
    this.closePass();
    if (!this.encoder) this.encoder = this.device.createCommandEncoder({ label: 'fimaq' });
    const bytes = t.byteLength;
    const staging = this.device.createBuffer({
      label: `${t.buffer.label}:readback`,
      size: Math.max(4, Math.ceil(bytes / 4) * 4),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    try {
      if (bytes > 0) this.encoder.copyBufferToBuffer(t.buffer, 0, staging, 0, bytes);
      this.flush();
      this.stats.readbacks++;
      try {
        await this.settle(staging.mapAsync(GPUMapMode.READ));
      } catch (e) {
        // A lost device fails the mapping; its lost promise may settle a moment later.
        await Promise.race([this.device.lost, new Promise((r) => setTimeout(r, 200))]);
        this.checkLost();
        throw e;
      }
      await this.throwPendingErrors();
      const copy = staging.getMappedRange(0, bytes).slice(0);
      staging.unmap();
      return copy;
    } finally {
      staging.destroy();
    }
  }

  // ---- timing --------------------------------------------------------------------------------

  /** Per-kernel GPU time since the last call (requires `profile: true`). */
  async kernelTimings(): Promise<KernelTiming[]> {
    if (!this.profiler) throw new Error('kernelTimings() needs a context created with profile: true');
    this.flush();
    return this.profiler.collect(this.device);
  }

  get timingSource(): 'timestamp-query' | 'wall-clock' | 'none' {
    if (!this.profiler) return 'none';
    return this.profiler.usesTimestamps ? 'timestamp-query' : 'wall-clock';
  }

  private createUniformBuffer(): GPUBuffer {
    return this.device.createBuffer({
      label: 'uniforms',
      size: this.uniformStaging.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
  }

  /** Waits for submitted work, then frees every buffer and destroys the device. */
  async dispose(): Promise<void> {
    if (!this.lost) {
      this.flush();
      await this.settle(this.device.queue.onSubmittedWorkDone());
    }
    this.pool.dispose();
    for (const t of this.textures) t.destroy();
    this.textures.clear();
    this.freeTextures.clear();
    this.uniformBuffer.destroy();
    this.placeholderTensor = null;
    this.profiler?.dispose();
    this.device.destroy();
  }
}

/** `label` names the shader as `shaderCodeFor` does. */
function formatCompilationErrors(label: string, info: GPUCompilationInfo): string {
  return info.messages
    .filter((m) => m.type === 'error')
    .map((m) => `${label}:${m.lineNum}:${m.linePos}: ${m.message}`)
    .join('\n');
}
