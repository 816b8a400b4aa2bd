/** GPU-free checks of how a shader is composed with its libraries and its polyfill (src/runtime/kernel.ts). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { geluKernel } from '../../src/ops/gelu.js';
import { intLinearKernel } from '../../src/ops/int-linear.js';
import { portableShaderCode, shaderCodeFor } from '../../src/runtime/kernel.js';
import { PACKAGE_ROOT } from '../../src/runtime/node-gpu.js';

const source = (name: string) => readFileSync(join(PACKAGE_ROOT, 'shaders', `${name}.wgsl`), 'utf8');

const shader = `requires some_feature;

fn helper(a: u32) -> u32 {
  return fancy(a);
}

fn main() {
  let x = helper(1u);
}
`;

describe('portableShaderCode', () => {
  it('drops the requires line and puts the polyfill\'s functions in place of the originals', () => {
    const polyfill = '// comment\nfn helper(a: u32) -> u32 {\n  return a + 1u;\n}\n';
    expect(portableShaderCode(shader, 'some_feature', polyfill, 't')).toBe(`fn helper(a: u32) -> u32 {
  return a + 1u;
}

fn main() {
  let x = helper(1u);
}
`);
  });

  it('refuses a shader without the requires line, or a polyfill function the shader lacks', () => {
    expect(() => portableShaderCode(shader, 'other_feature', 'fn helper() {\n}\n', 't')).toThrow(/no 'requires other_feature;'/);
    expect(() => portableShaderCode(shader, 'some_feature', 'fn missing() {\n}\n', 't')).toThrow(/t: no function missing/);
    expect(() => portableShaderCode(shader, 'some_feature', '// nothing\n', 't')).toThrow(/defines no function/);
  });

  it('int-linear: the device without the feature gets dot4 from dot4-portable and no packed builtin', () => {
    const feature = intLinearKernel.variant!.languageFeature;
    const withFeature = shaderCodeFor(intLinearKernel, new Set([feature]), source);
    expect(withFeature.code).toBe(source('int-linear'));
    expect(withFeature.code).toContain('dot4U8Packed');
    const without = shaderCodeFor(intLinearKernel, new Set(), source);
    expect(without.label).toBe('shaders/int-linear.wgsl polyfilled by shaders/dot4-portable.wgsl');
    expect(without.code).not.toContain('dot4U8Packed');
    expect(without.code).not.toContain('requires');
    const polyfill = source('dot4-portable');
    expect(without.code).toContain(polyfill.slice(polyfill.indexOf('\nfn dot4(') + 1).trimEnd());
  });

  it('a kernel with libraries is compiled as its file followed by theirs, its own lines first', () => {
    const { label, code } = shaderCodeFor(geluKernel, new Set(), source);
    expect(label).toBe('shaders/gelu.wgsl');
    expect(code).toBe(`${source('gelu')}\n${source('gelu-erf')}`);
  });
});
