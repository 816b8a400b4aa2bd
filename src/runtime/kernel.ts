/**
 * Kernel descriptors: pure data that says how a shader in `shaders/<name>.wgsl` is bound and
 * dispatched. The descriptor is the single source of truth for bindings, the uniform struct and
 * override constants; test/runtime/descriptor-sync.test.ts checks each one against the WGSL with
 * wgsl_reflect. Nothing here touches a GPUDevice.
 *
 * Binding convention, shared by every shader:
 *   @group(0) @binding(0) var<uniform> params: Params;   (fields in `uniforms` order, 4 bytes each)
 *   @group(0) @binding(1..n) var<storage, ...>            (in `storage` order)
 *   @group(0) @binding(n+1..) var t: texture_2d<f32>;     (in `textures` order: RowTexture operands)
 */
export type UniformType = 'u32' | 'i32' | 'f32';

export interface StorageBinding {
  name: string;
  access: 'read' | 'read_write';
}

export interface UniformField {
  name: string;
  type: UniformType;
}

export type OverrideValues = Record<string, number>;

export interface KernelDescriptor {
  /** Shader file stem (`shaders/<name>.wgsl`) and label of every GPU object made for it. */
  name: string;
  entryPoint: string;
  storage: StorageBinding[];
  /** Sampled rgba32float textures (`GpuContext.rowTexture`), bound after the storage buffers. */
  textures?: { name: string }[];
  uniforms: UniformField[];
  /** Override constants with their default values; a pipeline exists per distinct value set. */
  overrides: OverrideValues;
  /**
   * A shader that needs a WGSL language feature (e.g. packed_4x8_integer_dot_product) names a
   * polyfill: a file of functions written without the feature. Where the device lacks the
   * feature, the shader is compiled with its `requires` line dropped and each function the
   * polyfill defines replaced by the polyfill's (see `portableShaderCode`).
   */
  variant?: { languageFeature: string; polyfill: string };
  /** Shader files of functions (no bindings, no entry point) appended to this one before compiling. */
  libraries?: string[];
  /**
   * What one dispatch computes and moves, for the dispatch census (bench/census.ts), where
   * `defaultCost` would be wrong: a kernel that touches part of a bound buffer, re-reads its
   * inputs, or does more than a few operations per element.
   */
  cost?: (c: CostInput) => DispatchCost;
}

/** Floating-point (or integer) operations and bytes of device memory one dispatch moves. */
export interface DispatchCost {
  flops: number;
  bytes: number;
}

/** What a cost function sees of a dispatch: its uniforms, grid, override values (defaults merged) and the byte length of each bound storage buffer. */
export interface CostInput {
  uniforms: UniformValues;
  grid: readonly [number, number, number];
  overrides: OverrideValues;
  bufferBytes: readonly number[];
}

/** Operations per element that `defaultCost` assumes: element-wise kernels do a handful. */
export const DEFAULT_FLOPS_PER_ELEMENT = 8;

/**
 * The cost of a kernel without a `cost` of its own: every bound storage buffer read or written
 * once in full, and DEFAULT_FLOPS_PER_ELEMENT operations per element of the largest one.
 */
export function defaultCost(c: CostInput): DispatchCost {
  const bytes = c.bufferBytes.reduce((a, b) => a + b, 0);
  return { flops: (DEFAULT_FLOPS_PER_ELEMENT * Math.max(0, ...c.bufferBytes)) / 4, bytes };
}

export function dispatchCost(desc: KernelDescriptor, c: CostInput): DispatchCost {
  return (desc.cost ?? defaultCost)(c);
}

/** Invocations per workgroup: every shader declares `@workgroup_size(WG)` with WG an override. */
export function workgroupSize(desc: KernelDescriptor, overrides: OverrideValues = {}): number {
  const wg = { ...desc.overrides, ...overrides }.WG;
  if (!Number.isInteger(wg) || wg < 1) throw new Error(`${desc.name}: no workgroup size override WG`);
  return wg;
}

/**
 * The WGSL a device with these language features compiles for a descriptor (its file, then its
 * libraries, with the polyfill applied where the feature is missing), and the label its
 * compilation errors carry: the file, or for a polyfilled shader both files (line numbers are
 * then the composed text's).
 */
export function shaderCodeFor(desc: KernelDescriptor, languageFeatures: ReadonlySet<string>, source: (name: string) => string): { label: string; code: string } {
  // Appended, so the kernel file's own line numbers stay those of its errors.
  const code = [source(desc.name), ...(desc.libraries ?? []).map(source)].join('\n');
  if (!desc.variant || languageFeatures.has(desc.variant.languageFeature)) return { label: `shaders/${desc.name}.wgsl`, code };
  return {
    label: `shaders/${desc.name}.wgsl polyfilled by shaders/${desc.variant.polyfill}.wgsl`,
    code: portableShaderCode(code, desc.variant.languageFeature, source(desc.variant.polyfill), desc.name),
  };
}

/**
 * `code` without its `requires <feature>;` line, with every function that `polyfill` defines put
 * in place of the function of the same name. A function runs from `fn name(` to the first
 * closing brace at the start of a line, the shaders' formatting.
 */
export function portableShaderCode(code: string, feature: string, polyfill: string, label: string): string {
  const requires = new RegExp(`^requires ${feature};\\n+`, 'm');
  if (!requires.test(code)) throw new Error(`${label}: no 'requires ${feature};' line to drop`);
  let out = code.replace(requires, '');
  const functions = [...polyfill.matchAll(/^fn (\w+)\(/gm)];
  if (functions.length === 0) throw new Error(`${label}: the polyfill defines no function`);
  for (const [, name] of functions) {
    const replacement = functionText(polyfill, name, 'the polyfill');
    const original = functionText(out, name, label);
    out = out.replace(original, () => replacement);
  }
  return out;
}

function functionText(code: string, name: string, where: string): string {
  const start = code.search(new RegExp(`^fn ${name}\\(`, 'm'));
  const end = start < 0 ? -1 : code.indexOf('\n}', start);
  if (end < 0) throw new Error(`${where}: no function ${name}`);
  return code.slice(start, end + 2);
}

export type UniformValues = Record<string, number>;

/** Byte size of the uniform struct: 4-byte scalars, rounded up to WGSL's 16-byte struct alignment rule for uniforms. */
export function uniformByteSize(desc: KernelDescriptor): number {
  return Math.max(16, Math.ceil((desc.uniforms.length * 4) / 16) * 16);
}

/** Packs uniform values in descriptor order; a missing or extra value is a programming error. */
export function packUniforms(desc: KernelDescriptor, values: UniformValues, target: DataView, offset: number): void {
  for (const key of Object.keys(values)) {
    if (!desc.uniforms.some((u) => u.name === key)) throw new Error(`${desc.name}: unknown uniform '${key}'`);
  }
  desc.uniforms.forEach((field, i) => {
    const v = values[field.name];
    if (v === undefined || !Number.isFinite(v)) throw new Error(`${desc.name}: uniform '${field.name}' is ${v}`);
    const at = offset + i * 4;
    if (field.type === 'f32') target.setFloat32(at, v, true);
    else if (field.type === 'u32') {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`${desc.name}: uniform '${field.name}'=${v} is not a u32`);
      target.setUint32(at, v, true);
    } else {
      if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new Error(`${desc.name}: uniform '${field.name}'=${v} is not an i32`);
      target.setInt32(at, v, true);
    }
  });
}

/** Pipeline cache key: the op and its override values, never shapes (shapes travel as uniforms). */
export function pipelineKey(desc: KernelDescriptor, overrides: OverrideValues): string {
  const merged = { ...desc.overrides, ...overrides };
  return desc.name + JSON.stringify(Object.keys(merged).sort().map((k) => [k, merged[k]]));
}

export const MAX_WORKGROUPS_PER_DIMENSION = 65535;

/**
 * Workgroup grid for `count` independent items with `workgroupSize` items per workgroup.
 * Large counts spill into y; shaders rebuild the flat index as gid.x + gid.y * (num_workgroups.x * WG).
 */
export function gridFor(count: number, workgroupSize: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(count / workgroupSize));
  if (groups <= MAX_WORKGROUPS_PER_DIMENSION) return [groups, 1, 1];
  const y = Math.ceil(groups / MAX_WORKGROUPS_PER_DIMENSION);
  if (y > MAX_WORKGROUPS_PER_DIMENSION) throw new Error(`dispatch of ${count} items is too large`);
  return [MAX_WORKGROUPS_PER_DIMENSION, y, 1];
}
