/**
 * Random QuantizedVit models from the counter-based PRNG: no zeros, every code and zero-point
 * drawn over its full range, one PRNG stream per tensor so big models stay cheap to build.
 */
import { expectedVitTensors } from '../../src/model/checkpoint.js';
import { parseVitConfig } from '../../src/model/config.js';
import type { ActivationQuant, BlockQuant, QuantizedVit, WeightQuant } from '../../src/quant/quantized-model.js';
import { uniformTensor, uniforms } from '../../src/util/prng.js';

export interface SampleOptions {
  wbits: number;
  abits: number;
  seed: number;
}

/** Integers uniform in [0, levels). */
function randomInts<T extends Uint8Array | Int32Array | Float32Array>(out: T, u: Float64Array, levels: number): T {
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(u[i]! * levels);
  return out;
}

export function randomQuantizedVit(configText: string, opts: SampleOptions): QuantizedVit {
  const config = parseVitConfig(configText, 'sample/config.json');
  const shapes = expectedVitTensors(config);
  let stream = 0;
  const draw = (n: number) => uniforms(opts.seed, stream++, n);
  const positive = (n: number) => uniformTensor(opts.seed, stream++, n, 0.02, 0.015); // in (0.005, 0.035)

  const weight = (name: string): WeightQuant => {
    const [rows, ...rest] = shapes.get(name)!;
    const cols = rest.reduce((a, b) => a * b, 1);
    const bits = opts.wbits;
    return {
      bits,
      rows: rows!,
      cols,
      scale: positive(rows!),
      zeroPoint: randomInts(new Int32Array(rows!), draw(rows!), 2 ** bits),
      codes: randomInts(new Uint8Array(rows! * cols), draw(rows! * cols), 2 ** bits),
    };
  };
  const act = (scaleShape: number[], zeroPointShape: number[]): ActivationQuant => {
    const nz = zeroPointShape.reduce((a, b) => a * b, 1);
    return {
      bits: opts.abits,
      scale: positive(scaleShape.reduce((a, b) => a * b, 1)),
      scaleShape,
      zeroPoint: randomInts(new Float32Array(nz), draw(nz), 2 ** opts.abits),
      zeroPointShape,
    };
  };

  const t = config.numTokens;
  const h = config.numHeads;
  const blocks: BlockQuant[] = Array.from({ length: config.depth }, (_, i) => {
    const linear = (module: string) => ({ weight: weight(`blocks.${i}.${module}.weight`), input: act([t], [1]) });
    return {
      qkv: linear('attn.qkv'),
      proj: linear('attn.proj'),
      fc1: linear('mlp.fc1'),
      fc2: linear('mlp.fc2'),
      q: act([h, t], [h]),
      k: act([h, t], [h]),
      v: act([h, config.embedDim / h], [h]),
      attn: act([h, t], [h]),
    };
  });
  const patchEmbed = { weight: weight('patch_embed.proj.weight') };
  const head = { weight: weight('head.weight'), input: act([1], [1]) };

  const quantized = new Set(['patch_embed.proj.weight', 'head.weight']);
  for (let i = 0; i < config.depth; i++) {
    for (const m of ['attn.qkv', 'attn.proj', 'mlp.fc1', 'mlp.fc2']) quantized.add(`blocks.${i}.${m}.weight`);
  }
  const floats = new Map<string, Float32Array>();
  for (const [name, shape] of shapes) {
    if (!quantized.has(name)) floats.set(name, uniformTensor(opts.seed, stream++, shape.reduce((a, b) => a * b, 1), 0.5, 0.25));
  }

  return {
    config,
    configText,
    floats,
    patchEmbed,
    blocks,
    head,
    info: {
      method: 'fima-q',
      wbits: opts.wbits,
      abits: opts.abits,
      seed: opts.seed,
      calibSize: 32,
      calibData: 'random sample',
      toolVersion: '0.1.0-test',
      details: { reconIters: 20000, losses: [0.5, 0.25], fisher: 'dplr' },
    },
  };
}
