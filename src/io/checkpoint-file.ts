/**
 * A timm ViT / DeiT / Swin checkpoint's files: config.json plus model.safetensors, validated against the
 * tensor names and shapes the config implies. Pure and browser-safe; the Node folder loader is in
 * checkpoint-node.ts.
 */
import { expectedTensors, type ModelCheckpoint } from '../model/checkpoint.js';
import { parseModelConfig } from '../model/model-config.js';
import { FimaqError } from '../util/errors.js';
import { checkFinite, parseSafetensors, serializeSafetensors, toFloat32, type RawTensor } from './safetensors.js';

const FLOAT_DTYPES = new Set(['F64', 'F32', 'F16', 'BF16']);
const LISTED = 5;

/** "a, b, c and 7 more": keeps messages about many tensors on one short line. */
function list(names: string[]): string {
  const shown = names.slice(0, LISTED).join(', ');
  return names.length > LISTED ? `${shown} and ${names.length - LISTED} more` : shown;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Builds a checkpoint from the two files' contents. `source` is the checkpoint folder; errors name
 * `<source>/config.json` or `<source>/model.safetensors`. Every tensor problem (missing,
 * unexpected, wrong shape or dtype) is reported together in one line; then the first non-finite value.
 */
export function checkpointFromBytes(configText: string, safetensors: Uint8Array, source: string): ModelCheckpoint {
  const folder = source.replace(/[\\/]+$/, '');
  const config = parseModelConfig(configText, `${folder}/config.json`);
  const file = `${folder}/model.safetensors`;
  let { tensors } = parseSafetensors(safetensors, file);

  // Some exports wrap the model (e.g. a Lightning module); strip the prefix only when it is uniform.
  const keys = [...tensors.keys()];
  if (keys.length > 0 && keys.every((k) => k.startsWith('model.'))) {
    tensors = new Map([...tensors].map(([k, t]) => [k.slice('model.'.length), t] as [string, RawTensor]));
  }

  const expected = expectedTensors(config);
  const missing = [...expected.keys()].filter((k) => !tensors.has(k));
  const unexpected = [...tensors.keys()].filter((k) => !expected.has(k));
  const misshaped: string[] = [];
  const wrongType: string[] = [];
  for (const [name, shape] of expected) {
    const t = tensors.get(name);
    if (t === undefined) continue;
    if (!sameShape(t.shape, shape)) misshaped.push(`${name} [${t.shape.join(', ')}] (expected [${shape.join(', ')}])`);
    else if (!FLOAT_DTYPES.has(t.dtype)) wrongType.push(`${name} ${t.dtype}`);
  }
  const problems: string[] = [];
  if (missing.length > 0) problems.push(`missing tensors: ${list(missing)}`);
  if (unexpected.length > 0) problems.push(`unexpected tensors: ${list(unexpected)}`);
  if (misshaped.length > 0) problems.push(`wrong shapes: ${list(misshaped)}`);
  if (wrongType.length > 0) problems.push(`not floating point: ${list(wrongType)}`);
  if (problems.length > 0) {
    throw new FimaqError(`${file}: does not match ${config.architecture} from config.json: ${problems.join('; ')}`);
  }

  const weights = new Map<string, Float32Array>();
  for (const name of expected.keys()) {
    const w = toFloat32(tensors.get(name)!, name, file);
    checkFinite(w, name, file);
    weights.set(name, w);
  }
  return { config, weights, source, configText } as ModelCheckpoint;
}

/** The checkpoint's weights as a model.safetensors file (F32, timm names): checkpointFromBytes' inverse. */
export function checkpointToSafetensors(ckpt: ModelCheckpoint): Uint8Array {
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const [name, shape] of expectedTensors(ckpt.config)) tensors[name] = { dtype: 'F32', shape, data: ckpt.weights.get(name) as Float32Array };
  return serializeSafetensors(tensors);
}
