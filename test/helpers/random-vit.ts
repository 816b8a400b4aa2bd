/**
 * Random-weight ViT and Swin checkpoints from the counter-based PRNG that tools/prng.py mirrors, so
 * the PyTorch fixture scripts can rebuild the very same weights without committing them.
 */
import { expectedSwinTensors, expectedVitTensors, type SwinCheckpoint, type VitCheckpoint } from '../../src/model/checkpoint.js';
import { parseVitConfig } from '../../src/model/config.js';
import { parseSwinConfig } from '../../src/model/swin-config.js';
import { uniformTensor } from '../../src/util/prng.js';

/** Per-tensor (offset, scale) of the uniform draw: LayerNorm weights near 1, the rest small. */
export function randomInit(name: string, fanIn: number): [number, number] {
  if (/norm\d?\.weight$/.test(name)) return [1, 0.1];
  if (name.endsWith('.bias')) return [0, 0.02];
  if (name === 'cls_token' || name === 'pos_embed') return [0, 0.05];
  if (name.endsWith('relative_position_bias_table')) return [0, 0.5];
  return [0, Math.sqrt(3 / fanIn)];
}

/** Tensor k of the state dict sorted by name is PRNG stream k. */
function randomWeights(expected: Map<string, number[]>, seed: number): Map<string, Float32Array> {
  const weights = new Map<string, Float32Array>();
  const names = [...expected.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  names.forEach(([name, shape], stream) => {
    const count = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape.length > 1 ? count / shape[0] : 1;
    const [offset, scale] = randomInit(name, fanIn);
    weights.set(name, uniformTensor(seed, stream, count, offset, scale));
  });
  return weights;
}

export function randomVitCheckpoint(configText: string, seed: number): VitCheckpoint {
  const config = parseVitConfig(configText, 'random-vit/config.json');
  return { config, weights: randomWeights(expectedVitTensors(config), seed), source: 'random-vit', configText };
}

export function randomSwinCheckpoint(configText: string, seed: number): SwinCheckpoint {
  const config = parseSwinConfig(configText, 'random-swin/config.json');
  return { config, weights: randomWeights(expectedSwinTensors(config), seed), source: 'random-swin', configText };
}
