/**
 * GPU-free check that every kernel descriptor matches its WGSL file: binding numbers, access modes,
 * the uniform struct's fields, types and byte size, and the override constants, for the WGSL as
 * written and, for a kernel with a polyfill, as composed for a device without the feature.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WgslReflect } from 'wgsl_reflect';
import { ALL_KERNELS } from '../../src/ops/registry.js';
import { shaderCodeFor, uniformByteSize } from '../../src/runtime/kernel.js';
import { PACKAGE_ROOT } from '../../src/runtime/node-gpu.js';

const shaderDir = join(PACKAGE_ROOT, 'shaders');

describe('kernel descriptors match their WGSL', () => {
  it('every shader file is one descriptor\'s kernel, or a polyfill or library named by one', () => {
    const files = readdirSync(shaderDir).filter((f) => f.endsWith('.wgsl')).map((f) => f.replace(/\.wgsl$/, '')).sort();
    const named = new Set(ALL_KERNELS.flatMap((k) => [k.name, ...(k.variant ? [k.variant.polyfill] : []), ...(k.libraries ?? [])]));
    expect([...named].sort()).toEqual(files);
    expect(ALL_KERNELS.length).toBe(new Set(ALL_KERNELS.map((k) => k.name)).size);
  });

  const source = (name: string) => readFileSync(join(shaderDir, `${name}.wgsl`), 'utf8');
  const variants = ALL_KERNELS.flatMap((desc) => {
    const features = desc.variant ? [new Set([desc.variant.languageFeature]), new Set<string>()] : [new Set<string>()];
    return features.map((f) => [shaderCodeFor(desc, f, source), desc] as const);
  });
  for (const [{ label, code }, desc] of variants) {
    it(label, () => {
      const reflect = new WgslReflect(code);
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

      const textures = [...reflect.textures].sort((a, b) => a.binding - b.binding);
      expect(textures.map((t) => [t.binding, t.name])).toEqual((desc.textures ?? []).map((t, i) => [1 + desc.storage.length + i, t.name]));

      const overrides = reflect.overrides.map((o) => o.name).sort();
      expect(overrides).toEqual(Object.keys(desc.overrides).sort());
    });
  }
});
