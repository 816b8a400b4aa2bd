import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeSafetensors, type Dtype } from '../../src/io/safetensors.js';
import { writeFileAtomic } from '../../src/io/atomic-write.js';
import { checkpointFromBytes } from '../../src/io/checkpoint-file.js';
import { expectedVitTensors } from '../../src/model/checkpoint.js';
import { loadCheckpoint } from '../../src/io/checkpoint-node.js';
import { parseVitConfig } from '../../src/model/config.js';
import { FimaqError } from '../../src/util/errors.js';

const CONFIG = JSON.stringify({
  architecture: 'vit_tiny_patch16_224',
  num_classes: 3,
  model_args: { img_size: 8, patch_size: 4, in_chans: 1, embed_dim: 8, depth: 2, num_heads: 2, num_classes: 3 },
});
const cfg = parseVitConfig(CONFIG, 'test');

type Tensors = Record<string, { dtype: Dtype; shape: number[]; data: ArrayBufferView }>;

/** Every expected tensor as F32 with distinct values (index + k/1024), so mix-ups show. */
function goodTensors(prefix = ''): Tensors {
  const out: Tensors = {};
  let k = 0;
  for (const [name, shape] of expectedVitTensors(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, (_, i) => i + k / 1024);
    out[prefix + name] = { dtype: 'F32', shape, data };
    k++;
  }
  return out;
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fimaq-ckpt-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function writeCheckpoint(name: string, tensors: Tensors, config = CONFIG): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  await writeFileAtomic(join(dir, 'config.json'), new TextEncoder().encode(config));
  await writeFileAtomic(join(dir, 'model.safetensors'), serializeSafetensors(tensors, { format: 'pt' }));
  return dir;
}

async function loadError(dir: string): Promise<string> {
  const err = await loadCheckpoint(dir).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(FimaqError);
  const message = (err as Error).message;
  expect(message).not.toContain('\n');
  return message;
}

describe('expectedVitTensors', () => {
  it('lists timm keys with their shapes', () => {
    const m = expectedVitTensors(cfg);
    expect(m.size).toBe(4 + 12 * 2 + 4);
    expect(m.get('cls_token')).toEqual([1, 1, 8]);
    expect(m.get('pos_embed')).toEqual([1, 5, 8]);
    expect(m.get('patch_embed.proj.weight')).toEqual([8, 1, 4, 4]);
    expect(m.get('blocks.1.attn.qkv.weight')).toEqual([24, 8]);
    expect(m.get('blocks.1.attn.qkv.bias')).toEqual([24]);
    expect(m.get('blocks.0.attn.proj.weight')).toEqual([8, 8]);
    expect(m.get('blocks.0.mlp.fc1.weight')).toEqual([32, 8]);
    expect(m.get('blocks.0.mlp.fc2.weight')).toEqual([8, 32]);
    expect(m.get('blocks.1.norm2.bias')).toEqual([8]);
    expect(m.get('head.weight')).toEqual([3, 8]);
    expect(m.get('head.bias')).toEqual([3]);
    expect(m.has('blocks.2.norm1.weight')).toBe(false);
  });
});

describe('loadCheckpoint', () => {
  it('loads a valid checkpoint, converting half-precision tensors', async () => {
    const tensors = goodTensors();
    tensors['head.bias'] = { dtype: 'BF16', shape: [3], data: new Uint16Array([0x3f80, 0xc040, 0x4049]) };
    tensors['norm.bias'] = { dtype: 'F16', shape: [8], data: new Uint16Array(8).fill(0x3c00) };
    const dir = await writeCheckpoint('good', tensors);
    const ckpt = await loadCheckpoint(dir);
    expect(ckpt.source).toBe(dir);
    expect(ckpt.config.embedDim).toBe(8);
    expect([...ckpt.weights.keys()]).toEqual([...expectedVitTensors(cfg).keys()]);
    expect([...ckpt.weights.get('pos_embed')!]).toEqual([...(tensors.pos_embed!.data as Float32Array)]);
    expect([...ckpt.weights.get('head.bias')!]).toEqual([1, -3, 3.140625]);
    expect([...ckpt.weights.get('norm.bias')!]).toEqual(new Array(8).fill(1));
  });

  it('strips a model. prefix carried by every key', async () => {
    const dir = await writeCheckpoint('prefixed', goodTensors('model.'));
    const ckpt = await loadCheckpoint(dir);
    expect(ckpt.weights.has('cls_token')).toBe(true);
  });

  it('reports a missing tensor by name', async () => {
    const tensors = goodTensors();
    delete tensors['blocks.1.mlp.fc2.bias'];
    const message = await loadError(await writeCheckpoint('missing', tensors));
    expect(message).toContain(join(root, 'missing', 'model.safetensors'));
    expect(message).toContain('missing tensors: blocks.1.mlp.fc2.bias');
  });

  it('reports an extra tensor by name', async () => {
    const tensors = goodTensors();
    tensors['head_dist.weight'] = { dtype: 'F32', shape: [3, 8], data: new Float32Array(24) };
    const message = await loadError(await writeCheckpoint('extra', tensors));
    expect(message).toContain('model.safetensors');
    expect(message).toContain('unexpected tensors: head_dist.weight');
  });

  it('does not strip model. when only some keys have it', async () => {
    const tensors = goodTensors();
    tensors['model.extra'] = { dtype: 'F32', shape: [1], data: new Float32Array(1) };
    expect(await loadError(await writeCheckpoint('partial-prefix', tensors))).toContain('unexpected tensors: model.extra');
  });

  it('reports a mis-shaped tensor with expected and actual shapes', async () => {
    const tensors = goodTensors();
    tensors.pos_embed = { dtype: 'F32', shape: [1, 17, 8], data: new Float32Array(17 * 8) };
    const message = await loadError(await writeCheckpoint('misshaped', tensors));
    expect(message).toContain('wrong shapes: pos_embed [1, 17, 8] (expected [1, 5, 8])');
  });

  it('reports integer weights', async () => {
    const tensors = goodTensors();
    tensors['norm.weight'] = { dtype: 'I32', shape: [8], data: new Int32Array(8) };
    expect(await loadError(await writeCheckpoint('int', tensors))).toContain('not floating point: norm.weight I32');
  });

  it('reports a bad config.json by file name', async () => {
    const dir = await writeCheckpoint('bad-config', goodTensors(), '{"architecture":"resnet50"}');
    const message = await loadError(dir);
    expect(message).toContain(join(dir, 'config.json'));
    expect(message).toContain("architecture 'resnet50'");
  });

  it('reports a truncated safetensors file by file name', async () => {
    const dir = join(root, 'truncated');
    await mkdir(dir);
    await writeFile(join(dir, 'config.json'), CONFIG);
    const bytes = serializeSafetensors(goodTensors());
    await writeFile(join(dir, 'model.safetensors'), bytes.subarray(0, bytes.length - 10));
    const message = await loadError(dir);
    expect(message).toContain(join(dir, 'model.safetensors'));
    expect(message).toContain('truncated');
  });

  it('reports a missing folder, a file instead of a folder, and missing files', async () => {
    expect(await loadError(join(root, 'nope'))).toContain('checkpoint folder does not exist');
    const file = join(root, 'a-file');
    await writeFile(file, 'x');
    expect(await loadError(file)).toContain('is not a folder');
    const empty = join(root, 'empty');
    await mkdir(empty);
    expect(await loadError(empty)).toContain('missing config.json and model.safetensors');
    await writeFile(join(empty, 'config.json'), CONFIG);
    const message = await loadError(empty);
    expect(message).toContain(empty);
    expect(message).toContain('missing model.safetensors');
  });
});

describe('checkpointFromBytes', () => {
  it('works without the file system and names the files under the source', () => {
    const bytes = serializeSafetensors(goodTensors());
    const ckpt = checkpointFromBytes(CONFIG, bytes, 'https://example.org/ckpt/');
    expect(ckpt.weights.size).toBe(expectedVitTensors(cfg).size);
    expect(() => checkpointFromBytes(CONFIG, bytes.subarray(0, 4), 'https://example.org/ckpt/')).toThrow(
      'https://example.org/ckpt/model.safetensors: file is 4 bytes',
    );
  });

  const errorOf = (tensors: Tensors): string => {
    try {
      checkpointFromBytes(CONFIG, serializeSafetensors(tensors), 'ckpt/');
    } catch (e) {
      expect(e).toBeInstanceOf(FimaqError);
      return (e as Error).message;
    }
    throw new Error('expected an error');
  };

  it('refuses a non-finite weight, naming the tensor and the first bad index', () => {
    for (const [value, name] of [[NaN, 'blocks.1.mlp.fc1.weight'], [Infinity, 'cls_token'], [-Infinity, 'blocks.0.norm2.bias']] as const) {
      const tensors = goodTensors();
      const data = tensors[name]!.data as Float32Array;
      data[5] = value;
      data[6] = value;
      expect(errorOf(tensors)).toBe(`ckpt/model.safetensors: tensor '${name}' has a non-finite value (${value}) at index 5`);
    }
  });

  it('refuses half-precision NaN and F64 values beyond the float32 range', () => {
    const half = goodTensors();
    half['head.bias'] = { dtype: 'F16', shape: [3], data: new Uint16Array([0x3c00, 0x7e00, 0x3c00]) };
    expect(errorOf(half)).toBe("ckpt/model.safetensors: tensor 'head.bias' has a non-finite value (NaN) at index 1");
    const wide = goodTensors();
    // 1e39 is finite as a float64 but overflows float32 when converted.
    wide['norm.weight'] = { dtype: 'F64', shape: [8], data: Float64Array.from([1, 2, 3, -1e39, 5, 6, 7, 8]) };
    expect(errorOf(wide)).toBe("ckpt/model.safetensors: tensor 'norm.weight' has a non-finite value (-Infinity) at index 3");
  });
});
