/**
 * GPU-free check that every kernel descriptor matches its WGSL file: binding numbers, access modes,
 * the uniform struct's fields, types and byte size, and the override constants; and that every
 * portable variant is its original with only the dot4 helper written out.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WgslReflect } from 'wgsl_reflect';
import { ALL_KERNELS } from '../../src/ops/registry.js';
import { uniformByteSize } from '../../src/runtime/kernel.js';
import { PACKAGE_ROOT } from '../../src/runtime/node-gpu.js';

const shaderDir = join(PACKAGE_ROOT, 'shaders');

describe('kernel descriptors match their WGSL', () => {
  it('every shader file has exactly one descriptor (a portable variant shares its original\'s)', () => {
    const files = readdirSync(shaderDir).filter((f) => f.endsWith('.wgsl')).map((f) => f.replace(/\.wgsl$/, '')).sort();
    const named = ALL_KERNELS.flatMap((k) => (k.variant ? [k.name, k.variant.fallback] : [k.name]));
    expect(named.sort()).toEqual(files);
  });

  const shaderFiles = ALL_KERNELS.flatMap((desc) => (desc.variant ? [[desc.name, desc], [desc.variant.fallback, desc]] : [[desc.name, desc]]) as [string, typeof desc][]);
  for (const [file, desc] of shaderFiles) {
    it(file, () => {
      const reflect = new WgslReflect(readFileSync(join(shaderDir, `${file}.wgsl`), 'utf8'));
      const entry = reflect.entry.compute.find((f) => f.name === desc.entryPoint);
      expect(entry, `entry point ${desc.entryPoint}`).toBeDefined();

      const uniforms = reflect.uniforms.filter((u) => u.group === 0);
      expect(uniforms.map((u) => u.binding)).toEqual([0]);
      const members = uniforms[0].members ?? [];
      expect(members.map((m) => [m.name, m.type.name])).toEqual(desc.uniforms.map((u) => [u.name, u.type]));
      expect(uniformByteSize(desc)).toBeGreaterThanOrEqual(uniforms[0].size);

      const storage = [...reflect.storage].sort((a, b) => a.binding - b.binding);
      expect(storage.map((s) => [s.binding, s.name, s.access === 'read' ? 'read' : 'read_write'])).toEqual(
        desc.storage.map((s, i) => [i + 1, s.name, s.access]),
      );

      const overrides = reflect.overrides.map((o) => o.name).sort();
      expect(overrides).toEqual(Object.keys(desc.overrides).sort());
    });
  }

  // The integer kernels' twins differ in their header comment, the `requires` line and the body of
  // dot4; everything from the struct declarations to the end must be the same text, so a change to
  // one cannot silently miss the other.
  for (const desc of ALL_KERNELS.filter((k) => k.variant)) {
    it(`${desc.variant!.fallback} is ${desc.name} apart from dot4`, () => {
      const code = (file: string) => {
        const text = readFileSync(join(shaderDir, `${file}.wgsl`), 'utf8');
        return text.slice(text.indexOf('struct Params')).replace(/fn dot4\(a: u32, b: u32\) -> u32 \{[^}]*\}/, 'fn dot4');
      };
      const original = code(desc.name);
      expect(original).toContain('fn dot4\n');
      expect(code(desc.variant!.fallback)).toBe(original);
    });
  }
});
