import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readQuantizedModel, writeQuantizedModel } from '../../src/io/quantized-file-node.js';
import { checkMatchesModel, isQuantizedFile, parseQuantizedModel, serializeQuantizedModel } from '../../src/io/quantized-file.js';
import { crc32, crc32Hex } from '../../src/io/crc32.js';
import { parseSafetensors, serializeSafetensors, type Dtype } from '../../src/io/safetensors.js';
import { expectedVitTensors } from '../../src/model/checkpoint.js';
import { parseVitConfig } from '../../src/model/config.js';
import { wordsPerRow } from '../../src/util/pack.js';
import { FimaqError } from '../../src/util/errors.js';
import { randomQuantizedVit } from '../helpers/quantized-sample.js';
import { randomVitCheckpoint } from '../helpers/random-vit.js';

const SRC = 'tiny.fimaq.safetensors';

/** Indented on purpose: the file must keep the config text verbatim, whitespace included. */
const TINY_CONFIG = JSON.stringify(
  {
    architecture: 'vit_tiny_patch4_8',
    model_args: { img_size: 8, patch_size: 4, in_chans: 1, embed_dim: 12, depth: 2, num_heads: 3, num_classes: 5 },
  },
  null,
  2,
);

const tiny = (wbits: number, abits: number, seed = 7) => randomQuantizedVit(TINY_CONFIG, { wbits, abits, seed });

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FimaqError);
    const message = (e as FimaqError).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected an error');
}

type Tensors = Record<string, { dtype: Dtype; shape: number[]; data: ArrayBufferView }>;

/**
 * Re-serialises a file after `edit` changes its tensors or metadata, to craft bad files. The
 * payload checksum is recomputed unless the edit changed or removed it, so that the other checks
 * are reached.
 */
function rewrite(bytes: Uint8Array, edit: (tensors: Tensors, metadata: Record<string, string>) => void): Uint8Array {
  const parsed = parseSafetensors(bytes, 'rewrite');
  const tensors: Tensors = {};
  for (const [name, t] of parsed.tensors) tensors[name] = { dtype: t.dtype, shape: t.shape, data: t.bytes.slice() };
  const metadata = { ...parsed.metadata };
  edit(tensors, metadata);
  const keepCrc = metadata.payload_crc32 !== undefined && metadata.payload_crc32 === parsed.metadata.payload_crc32;
  return serializeSafetensors(tensors, (data) =>
    keepCrc ? { ...metadata, payload_crc32: crc32Hex(data.reduce((crc, chunk) => crc32(chunk, crc), 0)) } : metadata,
  );
}

/** A copy of `bytes` with bit `bit` of byte `at` of tensor `name`'s data flipped. */
function flipBit(bytes: Uint8Array, name: string, at: number, bit: number): Uint8Array {
  const t = parseSafetensors(bytes, 'flip').tensors.get(name)!;
  const out = bytes.slice();
  out[t.bytes.byteOffset - bytes.byteOffset + at]! ^= 1 << bit;
  return out;
}

/** The CRC the reader computes: over everything after the header. */
const payloadCrc = (bytes: Uint8Array): string => crc32Hex(crc32(parseSafetensors(bytes, 'crc').data));

function editLayers(bytes: Uint8Array, edit: (layers: Record<string, Record<string, unknown>>) => void): Uint8Array {
  return rewrite(bytes, (_, metadata) => {
    const layers = JSON.parse(metadata.layers!) as Record<string, Record<string, unknown>>;
    edit(layers);
    metadata.layers = JSON.stringify(layers);
  });
}

describe('quantized-model file round trip', () => {
  const cases: [string, () => ReturnType<typeof tiny>][] = [
    ['W3/A4', () => tiny(3, 4)],
    ['W4/A4', () => tiny(4, 4, 11)],
    ['W2/A8', () => tiny(2, 8, 12)],
    ['W8/A2', () => tiny(8, 2, 13)],
    // With the widths above, every width 2..8, so codes straddle words in every way pack.ts allows.
    ['W5/A4', () => tiny(5, 4, 14)],
    ['W6/A4', () => tiny(6, 4, 15)],
    ['W7/A8', () => tiny(7, 8, 16)],
  ];

  it.each(cases)('%s: serialize -> parse gives back the same model', (_, make) => {
    const q = make();
    const bytes = serializeQuantizedModel(q);
    expect(isQuantizedFile(bytes)).toBe(true);
    const back = parseQuantizedModel(bytes, SRC);
    expect(back).toStrictEqual(q);
    expect(back.configText).toBe(TINY_CONFIG);
  });

  it('stores the documented tensors, dtypes and metadata', () => {
    const q = tiny(3, 4);
    const { tensors, metadata } = parseSafetensors(serializeQuantizedModel(q), SRC);
    expect(metadata.format).toBe('fimaq-quantized');
    expect(metadata.format_version).toBe('2');
    expect(metadata.payload_crc32).toMatch(/^[0-9a-f]{8}$/);
    expect(metadata.config).toBe(TINY_CONFIG);
    expect(JSON.parse(metadata.quantization!)).toStrictEqual({
      method: 'fima-q', wbits: 3, abits: 4, seed: 7, calib_size: 32, calib_data: 'random sample',
      tool_version: '0.1.0-test', details: q.info.details,
    });
    const layers = JSON.parse(metadata.layers!) as Record<string, unknown>;
    expect(layers['patch_embed.proj.weight']).toStrictEqual({ wbits: 3, cols: 16 });
    expect(layers['blocks.1.mlp.fc2.weight']).toStrictEqual({ wbits: 3, cols: 48 });
    expect(layers['blocks.0.attn.map']).toStrictEqual({ abits: 4 });
    expect(layers['head.input']).toStrictEqual({ abits: 4 });
    expect(Object.keys(layers)).toHaveLength(2 + 2 * 4 + 2 * 8 + 1);

    expect(tensors.get('blocks.0.attn.qkv.weight.codes')).toMatchObject({ dtype: 'U32', shape: [36, wordsPerRow(12, 3)] });
    expect(tensors.get('blocks.0.attn.qkv.weight.scale')).toMatchObject({ dtype: 'F32', shape: [36] });
    expect(tensors.get('blocks.0.attn.qkv.weight.zero_point')).toMatchObject({ dtype: 'I32', shape: [36] });
    expect(tensors.get('blocks.1.mlp.fc1.input.scale')).toMatchObject({ dtype: 'F32', shape: [5] });
    expect(tensors.get('blocks.1.mlp.fc1.input.zero_point')).toMatchObject({ dtype: 'F32', shape: [1] });
    expect(tensors.get('blocks.0.attn.v.scale')).toMatchObject({ dtype: 'F32', shape: [3, 4] });
    expect(tensors.get('blocks.0.attn.k.zero_point')).toMatchObject({ dtype: 'F32', shape: [3] });
    expect(tensors.get('cls_token')).toMatchObject({ dtype: 'F32', shape: [1, 1, 12] });
    expect(tensors.has('head.weight')).toBe(false);

    const floatNames = [...expectedVitTensors(q.config).keys()].filter((k) => !/(proj|qkv|fc1|fc2|head)\.weight$/.test(k));
    expect([...q.floats.keys()].sort()).toEqual(floatNames.sort());
    for (const name of floatNames) expect(tensors.get(name)?.dtype).toBe('F32');
  });

  describe('on disk', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'fimaq-qfile-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('writeQuantizedModel -> readQuantizedModel gives back the same model', async () => {
      const q = tiny(3, 4);
      const path = join(dir, 'model.fimaq.safetensors');
      await writeQuantizedModel(path, q);
      expect(isQuantizedFile(await readFile(path))).toBe(true);
      expect(await readQuantizedModel(path)).toStrictEqual(q);
    });

    it('names the path when a bit of the file flipped on disk', async () => {
      const path = join(dir, 'flipped.fimaq.safetensors');
      await writeQuantizedModel(path, tiny(3, 4));
      await writeFile(path, flipBit(await readFile(path), 'head.weight.codes', 0, 7));
      await expect(readQuantizedModel(path)).rejects.toThrow(new RegExp(`^${path}: payload checksum mismatch \\(stored [0-9a-f]{8}, computed [0-9a-f]{8}\\): the file is corrupt$`));
    });

    it('names the output path when the model cannot be written', async () => {
      const path = join(dir, 'nan.fimaq.safetensors');
      const q = tiny(3, 4);
      q.blocks[1]!.attn.scale[0] = NaN;
      await expect(writeQuantizedModel(path, q)).rejects.toThrow(`${path}: cannot write: quantizer 'blocks.1.attn.map' has scale NaN at index 0`);
    });

    it('names the path when the file is missing or damaged', async () => {
      const missing = join(dir, 'nope.safetensors');
      await expect(readQuantizedModel(missing)).rejects.toThrow(`${missing}: file does not exist`);
      const cut = join(dir, 'cut.safetensors');
      const bytes = serializeQuantizedModel(tiny(4, 4));
      await writeFile(cut, bytes.subarray(0, bytes.length - 3));
      await expect(readQuantizedModel(cut)).rejects.toThrow(new RegExp(`^${cut}: file is truncated`));
    });
  });
});

describe('parseQuantizedModel rejects bad files', () => {
  const good = serializeQuantizedModel(tiny(3, 4));

  it.each([9, 3.5, 1, '4'])('a weight bit width of %j in layers', (bits) => {
    const bad = editLayers(good, (layers) => {
      layers['blocks.1.mlp.fc1.weight']!.wbits = bits;
    });
    expect(errorOf(() => parseQuantizedModel(bad, SRC))).toBe(
      `${SRC}: metadata layers['blocks.1.mlp.fc1.weight'].wbits: wrong bit width ${JSON.stringify(bits)} (expected an integer from 2 to 8)`,
    );
  });

  it('an activation bit width out of range', () => {
    const bad = editLayers(good, (layers) => {
      layers['blocks.0.attn.q']!.abits = 16;
    });
    expect(errorOf(() => parseQuantizedModel(bad, SRC))).toContain(`metadata layers['blocks.0.attn.q'].abits: wrong bit width 16`);
  });

  it('cols in layers that disagree with the config', () => {
    const bad = editLayers(good, (layers) => {
      layers['head.weight']!.cols = 13;
    });
    expect(errorOf(() => parseQuantizedModel(bad, SRC))).toBe(
      `${SRC}: metadata layers['head.weight'].cols 13 disagrees with the config (head.weight has 12 columns)`,
    );
  });

  it('a truncated file, with the safetensors message intact', () => {
    const msg = errorOf(() => parseQuantizedModel(good.subarray(0, good.length - 10), SRC));
    expect(msg).toMatch(new RegExp(`^${SRC}: file is truncated: expected at least ${good.length} bytes, got ${good.length - 10}`));
  });

  it('a codes tensor of the wrong packed length', () => {
    const bad = rewrite(good, (tensors) => {
      // fc1 is 48 x 12: at 3 bits a row needs 2 words; store 3.
      tensors['blocks.0.mlp.fc1.weight.codes'] = { dtype: 'U32', shape: [48, 3], data: new Uint32Array(144).fill(0x92492492) };
    });
    expect(errorOf(() => parseQuantizedModel(bad, SRC))).toBe(
      `${SRC}: tensors do not match vit_tiny_patch4_8 and the layers metadata: ` +
        'wrong shapes: blocks.0.mlp.fc1.weight.codes [48, 3] (expected [48, 2]: 12 cols at 3 bits)',
    );
  });

  it('codes packed at another bit width than layers says', () => {
    const bad = editLayers(good, (layers) => {
      layers['blocks.1.attn.qkv.weight']!.wbits = 6; // 12 cols: 3 words at 6 bits, the file holds 2 (3 bits)
    });
    expect(errorOf(() => parseQuantizedModel(bad, SRC))).toContain(
      'wrong shapes: blocks.1.attn.qkv.weight.codes [36, 2] (expected [36, 3]: 12 cols at 6 bits)',
    );
  });

  it('a missing activation quantizer', () => {
    const noTensors = rewrite(good, (tensors) => {
      delete tensors['blocks.1.attn.k.scale'];
      delete tensors['blocks.1.attn.k.zero_point'];
    });
    expect(errorOf(() => parseQuantizedModel(noTensors, SRC))).toBe(
      `${SRC}: tensors do not match vit_tiny_patch4_8 and the layers metadata: missing tensors: blocks.1.attn.k.scale, blocks.1.attn.k.zero_point`,
    );
    const noEntry = editLayers(good, (layers) => {
      delete layers['blocks.1.attn.k'];
    });
    expect(errorOf(() => parseQuantizedModel(noEntry, SRC))).toBe(
      `${SRC}: metadata layers does not match the config: missing entries: blocks.1.attn.k`,
    );
  });

  it('unexpected, mis-shaped and mis-typed tensors, all in one line', () => {
    const bad = rewrite(good, (tensors) => {
      tensors['blocks.2.norm1.weight'] = { dtype: 'F32', shape: [12], data: new Float32Array(12).fill(1) };
      tensors['blocks.0.attn.v.scale'] = { dtype: 'F32', shape: [3, 5], data: new Float32Array(15).fill(0.1) };
      tensors['head.weight.zero_point'] = { dtype: 'F32', shape: [5], data: new Float32Array(5).fill(1) };
    });
    expect(errorOf(() => parseQuantizedModel(bad, SRC))).toBe(
      `${SRC}: tensors do not match vit_tiny_patch4_8 and the layers metadata: unexpected tensors: blocks.2.norm1.weight; ` +
        'wrong shapes: blocks.0.attn.v.scale [3, 5] (expected [3, 4]); wrong dtypes: head.weight.zero_point F32 (expected I32)',
    );
  });

  it('a plain float checkpoint', () => {
    const ckpt = randomVitCheckpoint(TINY_CONFIG, 3);
    const tensors: Tensors = {};
    for (const [name, w] of ckpt.weights) tensors[name] = { dtype: 'F32', shape: expectedVitTensors(ckpt.config).get(name)!, data: w };
    for (const metadata of [undefined, { format: 'pt' }]) {
      const bytes = serializeSafetensors(tensors, metadata);
      expect(isQuantizedFile(bytes)).toBe(false);
      const found = metadata === undefined ? 'its metadata has no format' : "metadata format is 'pt'";
      expect(errorOf(() => parseQuantizedModel(bytes, SRC))).toBe(`${SRC}: not a fimaq-quantized file (${found}); is it a float checkpoint?`);
    }
  });

  it('an unsupported format_version', () => {
    const bad = rewrite(good, (_, metadata) => {
      metadata.format_version = '3';
    });
    expect(errorOf(() => parseQuantizedModel(bad, SRC))).toBe(`${SRC}: unsupported format_version '3' (this version reads 1 and 2)`);
  });

  it('an invalid config, with the config parser message', () => {
    const bad = rewrite(good, (_, metadata) => {
      metadata.config = TINY_CONFIG.replace('"num_heads": 3', '"num_heads": 5');
    });
    expect(errorOf(() => parseQuantizedModel(bad, SRC))).toBe(`${SRC}: metadata config: embed_dim 12 is not divisible by num_heads 5`);
  });

  it('bad quantization info', () => {
    const bad = rewrite(good, (_, metadata) => {
      metadata.quantization = JSON.stringify({ ...JSON.parse(metadata.quantization!), calib_size: -1 });
    });
    expect(errorOf(() => parseQuantizedModel(bad, SRC))).toBe(`${SRC}: metadata quantization.calib_size must be an integer >= 0, got -1`);
    const badBits = rewrite(good, (_, metadata) => {
      metadata.quantization = JSON.stringify({ ...JSON.parse(metadata.quantization!), wbits: 0 });
    });
    expect(errorOf(() => parseQuantizedModel(badBits, SRC))).toContain('metadata quantization.wbits: wrong bit width 0');
  });

  it('non-finite or non-positive scales', () => {
    for (const [value, name] of [[Number.NaN, 'blocks.0.attn.proj.weight.scale'], [0, 'blocks.1.attn.map.scale'], [-1, 'head.input.scale'], [Infinity, 'patch_embed.proj.weight.scale']] as const) {
      const bad = rewrite(good, (tensors) => {
        const t = tensors[name]!;
        const data = new Float32Array((t.data as Uint8Array).slice().buffer);
        data[data.length - 1] = value;
        tensors[name] = { ...t, data };
      });
      expect(errorOf(() => parseQuantizedModel(bad, SRC))).toMatch(
        new RegExp(`^${SRC}: tensor '${name.replace(/\./g, '\\.')}' has scale ${value} at index \\d+ \\(scales must be finite and positive\\)$`),
      );
    }
  });

  it('weight zero-points outside [0, 2^bits - 1] and fractional activation zero-points', () => {
    const bad = rewrite(good, (tensors) => {
      tensors['blocks.0.mlp.fc2.weight.zero_point'] = { dtype: 'I32', shape: [12], data: new Int32Array(12).fill(8) };
    });
    expect(errorOf(() => parseQuantizedModel(bad, SRC))).toBe(
      `${SRC}: tensor 'blocks.0.mlp.fc2.weight.zero_point' has zero-point 8 at index 0, outside [0, 7] for 3 bits`,
    );
    const frac = rewrite(good, (tensors) => {
      tensors['blocks.1.attn.v.zero_point'] = { dtype: 'F32', shape: [3], data: new Float32Array([1, 2.5, 3]) };
    });
    expect(errorOf(() => parseQuantizedModel(frac, SRC))).toBe(
      `${SRC}: tensor 'blocks.1.attn.v.zero_point' has zero-point 2.5 at index 1, not an integer`,
    );
  });

  it('non-finite float parameters', () => {
    for (const [value, name, index] of [[NaN, 'blocks.1.mlp.fc1.bias', 17], [Infinity, 'cls_token', 0], [-Infinity, 'pos_embed', 59]] as const) {
      const bad = rewrite(good, (tensors) => {
        const t = tensors[name]!;
        const data = new Float32Array((t.data as Uint8Array).slice().buffer);
        data[index] = value;
        tensors[name] = { ...t, data };
      });
      expect(errorOf(() => parseQuantizedModel(bad, SRC))).toBe(`${SRC}: tensor '${name}' has a non-finite value (${value}) at index ${index}`);
    }
  });

  it('quantization.wbits or abits that disagree with a layer', () => {
    // 12 cols take 2 words at 3 and at 4 bits, so the tensors still match the layers table.
    const layer = editLayers(good, (layers) => {
      layers['blocks.1.attn.qkv.weight']!.wbits = 4;
    });
    expect(errorOf(() => parseQuantizedModel(layer, SRC))).toBe(
      `${SRC}: metadata quantization.wbits is 3 but layer 'blocks.1.attn.qkv.weight' has wbits 4 (every layer must use the same width)`,
    );
    const abits = rewrite(good, (_, metadata) => {
      metadata.quantization = JSON.stringify({ ...JSON.parse(metadata.quantization!), abits: 8 });
    });
    expect(errorOf(() => parseQuantizedModel(abits, SRC))).toBe(
      `${SRC}: metadata quantization.abits is 8 but layer 'blocks.0.attn.qkv.input' has abits 4 (every layer must use the same width)`,
    );
  });

  it('the writer refuses a model the reader would reject, naming the output', () => {
    const out = 'out.fimaq.safetensors';
    const q = tiny(3, 4);
    q.blocks[1]!.fc1.weight.zeroPoint[2] = -1;
    expect(errorOf(() => serializeQuantizedModel(q, out))).toBe(
      `${out}: cannot write: tensor 'blocks.1.mlp.fc1.weight.zero_point' has zero-point -1 at index 2, outside [0, 7] for 3 bits`,
    );
    const nan = tiny(3, 4);
    nan.blocks[0]!.qkv.input.scale[3] = NaN;
    expect(errorOf(() => serializeQuantizedModel(nan, out))).toBe(
      `${out}: cannot write: quantizer 'blocks.0.attn.qkv.input' has scale NaN at index 3 (non-finite values in the model or its activations)`,
    );
    const zero = tiny(3, 4);
    zero.head.weight.scale[1] = 0;
    expect(errorOf(() => serializeQuantizedModel(zero, out))).toBe(
      `${out}: cannot write: quantizer 'head.weight' has scale 0 at index 1 (scales must be finite and positive)`,
    );
    const inf = tiny(3, 4);
    inf.floats.get('norm.weight')![2] = Infinity;
    expect(errorOf(() => serializeQuantizedModel(inf, out))).toBe(`${out}: cannot write: tensor 'norm.weight' has a non-finite value (Infinity) at index 2`);
    const wbits = tiny(3, 4);
    wbits.info.wbits = 4;
    expect(errorOf(() => serializeQuantizedModel(wbits, out))).toBe(
      `${out}: cannot write: quantization.wbits is 4 but layer 'patch_embed.proj.weight' has wbits 3 (every layer must use the same width)`,
    );
    const abits = tiny(3, 4);
    abits.blocks[1]!.q.bits = 8;
    expect(errorOf(() => serializeQuantizedModel(abits, out))).toBe(
      `${out}: cannot write: quantization.abits is 4 but layer 'blocks.1.attn.q' has abits 8 (every layer must use the same width)`,
    );
  });
});

describe('payload checksum', () => {
  const good = serializeQuantizedModel(tiny(3, 4));
  const stored = parseSafetensors(good, SRC).metadata.payload_crc32!;

  it('is the CRC-32 of everything after the header', () => {
    expect(stored).toBe(payloadCrc(good));
  });

  it.each([
    ['a packed codes tensor', 'blocks.0.mlp.fc1.weight.codes', 37, 5],
    ['a float tensor', 'blocks.1.norm1.bias', 2, 0],
    ['a scale', 'blocks.0.attn.map.scale', 9, 3],
  ])('catches a single flipped bit in %s', (_, name, at, bit) => {
    const bad = flipBit(good, name, at, bit);
    expect(errorOf(() => parseQuantizedModel(bad, SRC))).toBe(
      `${SRC}: payload checksum mismatch (stored ${stored}, computed ${payloadCrc(bad)}): the file is corrupt`,
    );
  });

  it('is required in a version 2 file and must be 8 lowercase hex digits', () => {
    const missing = rewrite(good, (_, metadata) => {
      delete metadata.payload_crc32;
    });
    expect(errorOf(() => parseQuantizedModel(missing, SRC))).toBe(`${SRC}: metadata 'payload_crc32' is missing`);
    const upper = rewrite(good, (_, metadata) => {
      metadata.payload_crc32 = stored.toUpperCase().padStart(9, '0');
    });
    expect(errorOf(() => parseQuantizedModel(upper, SRC))).toMatch(new RegExp(`^${SRC}: metadata 'payload_crc32' is "0[0-9A-F]{8}", not 8 lowercase hex digits$`));
  });

  it('a version 1 file, which has none, still loads', () => {
    const v1 = rewrite(good, (_, metadata) => {
      metadata.format_version = '1';
      delete metadata.payload_crc32;
    });
    expect(parseQuantizedModel(v1, SRC)).toStrictEqual(tiny(3, 4));
  });
});

describe('checkMatchesModel', () => {
  const q = tiny(3, 4);

  it('accepts the model the file was made from', () => {
    expect(() => checkMatchesModel(q, parseVitConfig(TINY_CONFIG, 'config.json'), SRC)).not.toThrow();
  });

  it('names every differing field', () => {
    const wider = parseVitConfig(TINY_CONFIG.replace('"embed_dim": 12', '"embed_dim": 24'), 'other/config.json');
    expect(errorOf(() => checkMatchesModel(q, wider, SRC))).toBe(
      `${SRC}: quantized model does not match the model (quantized file vs model): embed_dim 12 vs 24, mlp_hidden 48 vs 96`,
    );
    const other = parseVitConfig(TINY_CONFIG.replace('"num_classes": 5', '"num_classes": 7').replace('vit_', 'deit_'), 'other/config.json');
    expect(errorOf(() => checkMatchesModel(q, other, SRC))).toContain('architecture vit_tiny_patch4_8 vs deit_tiny_patch4_8, num_classes 5 vs 7');
  });
});

describe('file size', () => {
  it('a deit_small-shaped file is at most 0.14x (W4) and 0.11x (W3) of the float32 model', () => {
    const config = '{"architecture":"deit_small_patch16_224"}';
    const cfg = parseVitConfig(config, 'deit_small/config.json');
    expect([cfg.embedDim, cfg.depth, cfg.numHeads, cfg.imgSize, cfg.patchSize, cfg.numClasses]).toEqual([384, 12, 6, 224, 16, 1000]);
    let params = 0;
    for (const shape of expectedVitTensors(cfg).values()) params += shape.reduce((a, b) => a * b, 1);
    const floatBytes = 4 * params;
    const ratio = (wbits: number) => serializeQuantizedModel(randomQuantizedVit(config, { wbits, abits: 4, seed: 5 })).length / floatBytes;
    expect(ratio(4)).toBeLessThanOrEqual(0.14);
    expect(ratio(3)).toBeLessThanOrEqual(0.11);
  });
});
