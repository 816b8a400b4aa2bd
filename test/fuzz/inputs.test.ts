/**
 * Seeded mutation fuzzing of every file format the tool reads: float checkpoints (config.json +
 * model.safetensors), quantized-model files, config.json alone, PNG, JPEG and IDX. Each valid seed
 * file is mutated (bit flips, truncation, inserted and deleted bytes, corrupted lengths; for JSON
 * also swapped, retyped and dropped fields) and read. Every case must end in a FimaqError (a clear,
 * one-line user error) or in a result that passes the same checks as an unmutated file, within a
 * time limit: never another exception (a crash or a stack trace), never a hang, never values
 * computed from invalid data.
 */
import { describe, expect, it } from 'vitest';
import { encode as encodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';
import { decodeImage } from '../../src/data/decode.js';
import { labelledIdxDataset, idxSource } from '../../src/data/idx-dataset.js';
import { MAX_IMAGE_PIXELS } from '../../src/data/image-size.js';
import type { PreprocessConfig } from '../../src/data/preprocess.js';
import { checkpointFromBytes, checkpointToSafetensors } from '../../src/io/checkpoint-file.js';
import { parseQuantizedModel, serializeQuantizedModel } from '../../src/io/quantized-file.js';
import { parseVitConfig } from '../../src/model/config.js';
import { FimaqError } from '../../src/util/errors.js';
import { uniforms } from '../../src/util/prng.js';
import { makeIdx } from '../data/helpers.js';
import { randomQuantizedVit } from '../helpers/quantized-sample.js';
import { randomVitCheckpoint } from '../helpers/random-vit.js';

const CONFIG = {
  architecture: 'vit_tiny_patch4_8',
  model_args: { img_size: 8, patch_size: 4, in_chans: 1, embed_dim: 8, depth: 1, num_heads: 2, num_classes: 3 },
  pretrained_cfg: { input_size: [1, 8, 8], mean: [0.5], std: [0.5], interpolation: 'bilinear', crop_pct: 1.0, label_names: ['a', 'b', 'c'] },
};
const CONFIG_TEXT = JSON.stringify(CONFIG);
const CASES_PER_FORMAT = 60;
/** A case slower than this is a hang. */
const LIMIT_MS = 3000;

/** A deterministic stream of uniforms in (0, 1) per format. */
function rng(seed: number): () => number {
  let i = 0;
  let block = uniforms(seed, 0xf022, 4096);
  return () => {
    if (i === block.length) {
      block = uniforms(seed, 0xf022 + block.length + i, 4096);
      i = 0;
    }
    return block[i++];
  };
}

type Mutation = (bytes: Uint8Array, r: () => number) => Uint8Array;
const at = (n: number, r: () => number) => Math.floor(r() * n);

const BYTE_MUTATIONS: [string, Mutation][] = [
  ['flip bits', (b, r) => {
    const out = b.slice();
    for (let k = 1 + at(8, r); k > 0; k--) out[at(out.length, r)] ^= 1 << at(8, r);
    return out;
  }],
  ['truncate', (b, r) => b.slice(0, at(b.length, r))],
  ['insert bytes', (b, r) => {
    const i = at(b.length, r);
    const extra = Uint8Array.from({ length: 1 + at(16, r) }, () => at(256, r));
    return new Uint8Array([...b.subarray(0, i), ...extra, ...b.subarray(i)]);
  }],
  ['delete bytes', (b, r) => {
    const i = at(b.length, r);
    return new Uint8Array([...b.subarray(0, i), ...b.subarray(i + 1 + at(16, r))]);
  }],
  // Length and size fields sit near the start of every format here: the safetensors header length,
  // PNG's IHDR, JPEG's SOF, IDX's dims.
  ['corrupt the head', (b, r) => {
    const out = b.slice();
    const i = at(Math.min(out.length, 64), r);
    out[i] = [0, 0xff, 0x7f, 0x80, out[i] + 1][at(5, r)];
    return out;
  }],
];

/** JSON mutations: swap two fields' values, retype one, drop one, or perturb a number. */
function mutateJson(value: unknown, r: () => number): unknown {
  const paths: (string | number)[][] = [];
  const walk = (v: unknown, path: (string | number)[]) => {
    if (v !== null && typeof v === 'object') for (const [k, c] of Object.entries(v)) walk(c, [...path, Array.isArray(v) ? Number(k) : k]);
    paths.push(path);
  };
  walk(value, []);
  const copy = structuredClone(value) as Record<string | number, unknown>;
  const get = (p: (string | number)[]) => p.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)?.[k], copy);
  const set = (p: (string | number)[], v: unknown) => {
    if (p.length === 0) return v;
    (get(p.slice(0, -1)) as Record<string | number, unknown>)[p[p.length - 1]] = v;
    return copy;
  };
  const p = paths[at(paths.length, r)];
  const q = paths[at(paths.length, r)];
  const choices = [
    () => {
      const [a, b] = [get(p), get(q)];
      if (p.join('.').startsWith(q.join('.')) || q.join('.').startsWith(p.join('.'))) return set(p, null);
      set(p, b);
      return set(q, a);
    },
    () => set(p, [null, 'x', -1, 0, 1e9, 1.5, [], {}, true][at(9, r)]),
    () => {
      if (p.length === 0) return null;
      const parent = get(p.slice(0, -1)) as Record<string | number, unknown>;
      if (Array.isArray(parent)) parent.splice(Number(p[p.length - 1]), 1);
      else delete parent[p[p.length - 1]];
      return copy;
    },
    () => (typeof get(p) === 'number' ? set(p, (get(p) as number) * [-1, 0, 2, 1e6, 0.5][at(5, r)]) : set(p, 7)),
  ];
  return choices[at(choices.length, r)]();
}

const textBytes = (s: string) => new TextEncoder().encode(s);
const textOf = (b: Uint8Array) => new TextDecoder().decode(b);

/**
 * Runs `read` on `cases` mutations of `seed` and checks each outcome: a FimaqError, or a result
 * `check` accepts. Returns how many cases were refused and accepted.
 */
async function fuzz(name: string, seedNumber: number, seed: Uint8Array, read: (b: Uint8Array) => Promise<unknown>, check: (result: unknown) => void, mutations = BYTE_MUTATIONS): Promise<{ refused: number; accepted: number }> {
  const r = rng(seedNumber);
  let refused = 0;
  let accepted = 0;
  // The unmutated seed must be accepted, or the cases below prove nothing.
  check(await read(seed));
  for (let c = 0; c < CASES_PER_FORMAT; c++) {
    const [kind, mutate] = mutations[at(mutations.length, r)];
    const input = mutate(seed, r);
    const started = performance.now();
    let result: unknown;
    try {
      result = await read(input);
    } catch (e) {
      expect(e, `${name} case ${c} (${kind}): ${(e as Error).stack}`).toBeInstanceOf(FimaqError);
      expect((e as Error).message, `${name} case ${c} (${kind})`).not.toMatch(/\n/);
      refused++;
      continue;
    } finally {
      expect(performance.now() - started, `${name} case ${c} (${kind}) took too long`).toBeLessThan(LIMIT_MS);
    }
    check(result);
    accepted++;
  }
  return { refused, accepted };
}

const finite = (a: ArrayLike<number>) => Array.prototype.every.call(a, (v: number) => Number.isFinite(v));

describe('fuzzing the readers', () => {
  it('float checkpoints: model.safetensors and config.json', async () => {
    const ckpt = randomVitCheckpoint(CONFIG_TEXT, 3);
    const weights = checkpointToSafetensors(ckpt);
    const check = (result: unknown) => {
      const c = result as typeof ckpt;
      for (const [name, w] of c.weights) expect(finite(w), name).toBe(true);
      expect(c.weights.size).toBe(ckpt.weights.size);
    };
    const bytes = await fuzz('model.safetensors', 1, weights, async (b) => checkpointFromBytes(CONFIG_TEXT, b, 'fuzz'), check);
    expect(bytes.refused).toBeGreaterThan(CASES_PER_FORMAT / 2);
    const jsonMutation: [string, Mutation] = ['json field', (b, r) => textBytes(JSON.stringify(mutateJson(JSON.parse(textOf(b)), r)))];
    const config = await fuzz('config.json', 2, textBytes(CONFIG_TEXT), async (b) => checkpointFromBytes(textOf(b), weights, 'fuzz'), check, [...BYTE_MUTATIONS, jsonMutation, jsonMutation, jsonMutation]);
    expect(config.refused).toBeGreaterThan(0);
    // The safetensors header is JSON too: swapped offsets, dtypes and shapes.
    const headerLength = Number(new DataView(weights.buffer).getBigUint64(0, true));
    const headerMutation: [string, Mutation] = ['header field', (b, r) => {
      const header = JSON.stringify(mutateJson(JSON.parse(textOf(b.subarray(8, 8 + headerLength))), r));
      const out = new Uint8Array(8 + header.length + b.length - 8 - headerLength);
      new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
      out.set(textBytes(header), 8);
      out.set(b.subarray(8 + headerLength), 8 + header.length);
      return out;
    }];
    const header = await fuzz('safetensors header', 3, weights, async (b) => checkpointFromBytes(CONFIG_TEXT, b, 'fuzz'), check, [headerMutation]);
    expect(header.refused).toBeGreaterThan(CASES_PER_FORMAT / 2);
  });

  it('config.json alone', async () => {
    const jsonMutation: [string, Mutation] = ['json field', (b, r) => textBytes(JSON.stringify(mutateJson(JSON.parse(textOf(b)), r)))];
    const result = await fuzz('config.json', 4, textBytes(CONFIG_TEXT), async (b) => parseVitConfig(textOf(b), 'fuzz/config.json'), (c) => {
      const cfg = c as ReturnType<typeof parseVitConfig>;
      for (const v of [cfg.embedDim, cfg.depth, cfg.numHeads, cfg.numClasses, cfg.imgSize, cfg.patchSize]) expect(Number.isInteger(v) && v > 0).toBe(true);
      expect(cfg.embedDim % cfg.numHeads).toBe(0);
      expect(cfg.imgSize % cfg.patchSize).toBe(0);
    }, [jsonMutation, jsonMutation, jsonMutation, ...BYTE_MUTATIONS]);
    expect(result.refused).toBeGreaterThan(0);
  });

  it('quantized-model files', async () => {
    const q = randomQuantizedVit(CONFIG_TEXT, { wbits: 3, abits: 4, seed: 5 });
    const file = serializeQuantizedModel(q);
    const result = await fuzz('quantized file', 5, file, async (b) => parseQuantizedModel(b, 'fuzz.safetensors'), (m) => {
      // A file that passes is a complete, self-consistent model: it writes and reads back the same.
      const model = m as typeof q;
      expect(parseQuantizedModel(serializeQuantizedModel(model), 'again')).toStrictEqual(model);
    });
    // The checksum catches every change of the data; only header edits that keep a valid file pass.
    expect(result.refused).toBeGreaterThan(CASES_PER_FORMAT * 0.8);
  });

  it('PNG and JPEG images', async () => {
    const png = new PNG({ width: 13, height: 11 });
    for (let i = 0; i < png.data.length; i++) png.data[i] = (i * 53) % 256;
    const jpeg = encodeJpeg({ data: Buffer.from(png.data), width: 13, height: 11 }, 90).data;
    const check = (img: unknown) => {
      const { width, height, channels, data } = img as { width: number; height: number; channels: number; data: Uint8Array };
      expect(width * height).toBeGreaterThan(0);
      expect(width * height).toBeLessThanOrEqual(MAX_IMAGE_PIXELS);
      expect(data.length).toBe(width * height * channels);
    };
    const p = await fuzz('PNG', 6, new Uint8Array(PNG.sync.write(png)), (b) => decodeImage(b, 'fuzz.png'), check);
    expect(p.refused).toBeGreaterThan(CASES_PER_FORMAT / 2);
    // JPEG has no checksum: many mutated files still decode, to an image of the header's size.
    const j = await fuzz('JPEG', 7, new Uint8Array(jpeg), (b) => decodeImage(b, 'fuzz.jpg'), check);
    expect(j.refused).toBeGreaterThan(0);
  });

  it('IDX images and labels, as a labelled data set', async () => {
    const cfg: PreprocessConfig = { inputSize: [1, 8, 8], mean: [0.5], std: [0.5], interpolation: 'bilinear', cropPct: 1 };
    const images = makeIdx([5, 8, 8], Uint8Array.from({ length: 320 }, (_, i) => (i * 31) % 256));
    const labels = makeIdx([5], [0, 1, 2, 1, 0], 0x08);
    const options = { numClasses: 3, labels: 'required' as const };
    // What evaluation reads: every image's pixels and a label inside the model's classes.
    const read = async (imageBytes: Uint8Array, labelBytes: Uint8Array) => {
      const ds = labelledIdxDataset('fuzz', 'fuzz', await idxSource(imageBytes, 'fuzz-images'), await idxSource(labelBytes, 'fuzz-labels'), cfg, options);
      return ds.batch(Array.from({ length: ds.count }, (_, i) => i));
    };
    const check = (b: unknown) => {
      const batch = b as Awaited<ReturnType<typeof read>>;
      expect(batch.pixels.length).toBe(batch.labels.length * 64);
      expect(finite(batch.pixels)).toBe(true);
      for (const l of batch.labels) expect(l >= 0 && l < 3).toBe(true);
    };
    const i = await fuzz('IDX images', 8, images, (b) => read(b, labels), check);
    const l = await fuzz('IDX labels', 9, labels, (b) => read(images, b), check);
    expect(i.refused + l.refused).toBeGreaterThan(CASES_PER_FORMAT / 2);
  });
});
