/** Float64 reference forward of a timm ViT, composed from the per-op references. */
import type { VitCheckpoint } from '../../src/model/checkpoint.js';
import { attentionContextRef, attentionScoresRef } from './attention.js';
import { clsPoolRef, embedTokensRef, patchEmbedRef } from './embed.js';
import { geluRef } from './gelu.js';
import { layerNormRef } from './layer-norm.js';
import { linearRef } from './matmul.js';
import { softmaxRef } from './softmax.js';

/** Sees (and may replace) the values at each quantization point, named as in VitModel's hooks. */
export type RefHook = (point: string, values: Float64Array, shape: number[]) => Float64Array;

function weightsOf(ckpt: VitCheckpoint): (name: string) => Float32Array {
  return (name: string): Float32Array => {
    const t = ckpt.weights.get(name);
    if (!t) throw new Error(`no ${name}`);
    return t;
  };
}

export function vitForwardRef(ckpt: VitCheckpoint, images: Float32Array, batch: number, hook: RefHook = (_p, v) => v): Float64Array {
  const c = ckpt.config;
  const w = weightsOf(ckpt);
  const pe = patchEmbedRef(images, w('patch_embed.proj.weight'), w('patch_embed.proj.bias'), batch, c.inChans, c.imgSize, c.imgSize, c.patchSize, c.embedDim);
  return vitTailRef(ckpt, embedTokensRef(pe, w('cls_token'), w('pos_embed'), batch, c.numPatches, c.embedDim), batch, 0, hook);
}

/** Logits from the tokens [batch, T, D] entering block `first` (first = depth: the head alone). */
export function vitTailRef(ckpt: VitCheckpoint, tokens: ArrayLike<number>, batch: number, first: number, hook: RefHook = (_p, v) => v): Float64Array {
  const c = ckpt.config;
  const w = weightsOf(ckpt);
  const d = c.embedDim;
  const t = c.numTokens;
  const rows = batch * t;
  const add = (a: Float64Array, b: Float64Array) => a.map((v, i) => v + b[i]);
  let x = Float64Array.from(tokens);
  for (let i = first; i < c.depth; i++) {
    const p = `blocks.${i}`;
    const h = hook(`${p}.attn.qkv.input`, layerNormRef(x, w(`${p}.norm1.weight`), w(`${p}.norm1.bias`), rows, d, c.layerNormEps), [batch, t, d]);
    const qkv = hook(`${p}.attn.qkv.output`, linearRef(h, w(`${p}.attn.qkv.weight`), w(`${p}.attn.qkv.bias`), rows, d, 3 * d), [batch, t, 3 * d]);
    const hd = d / c.numHeads;
    const a = hook(`${p}.attn.map`, softmaxRef(attentionScoresRef(qkv, batch, t, c.numHeads, hd), batch * c.numHeads * t, t), [batch, c.numHeads, t, t]);
    const heads = hook(`${p}.attn.proj.input`, attentionContextRef(a, qkv, batch, t, c.numHeads, hd), [batch, t, d]);
    x = add(x, linearRef(heads, w(`${p}.attn.proj.weight`), w(`${p}.attn.proj.bias`), rows, d, d));
    const h2 = hook(`${p}.mlp.fc1.input`, layerNormRef(x, w(`${p}.norm2.weight`), w(`${p}.norm2.bias`), rows, d, c.layerNormEps), [batch, t, d]);
    const f = hook(`${p}.mlp.fc2.input`, geluRef(linearRef(h2, w(`${p}.mlp.fc1.weight`), w(`${p}.mlp.fc1.bias`), rows, d, c.mlpHidden)), [batch, t, c.mlpHidden]);
    x = add(x, linearRef(f, w(`${p}.mlp.fc2.weight`), w(`${p}.mlp.fc2.bias`), rows, c.mlpHidden, d));
  }
  const n = hook('head.input', layerNormRef(clsPoolRef(x, batch, t, d), w('norm.weight'), w('norm.bias'), batch, d, c.layerNormEps), [batch, d]);
  return linearRef(n, w('head.weight'), w('head.bias'), batch, d, c.numClasses);
}
