/** Float64 reference forward of a timm ViT, composed from the per-op references. */
import type { VitCheckpoint } from '../../src/model/checkpoint.js';
import { attentionContextRef, attentionScoresRef } from './attention.js';
import { clsPoolRef, embedTokensRef, patchEmbedRef } from './embed.js';
import { geluRef } from './gelu.js';
import { layerNormRef } from './layer-norm.js';
import { linearRef } from './matmul.js';
import { softmaxRef } from './softmax.js';

export function vitForwardRef(ckpt: VitCheckpoint, images: Float32Array, batch: number): Float64Array {
  const c = ckpt.config;
  const w = (name: string): Float32Array => {
    const t = ckpt.weights.get(name);
    if (!t) throw new Error(`no ${name}`);
    return t;
  };
  const d = c.embedDim;
  const t = c.numTokens;
  const rows = batch * t;
  const add = (a: Float64Array, b: Float64Array) => a.map((v, i) => v + b[i]);
  const pe = patchEmbedRef(images, w('patch_embed.proj.weight'), w('patch_embed.proj.bias'), batch, c.inChans, c.imgSize, c.imgSize, c.patchSize, d);
  let x = embedTokensRef(pe, w('cls_token'), w('pos_embed'), batch, c.numPatches, d);
  for (let i = 0; i < c.depth; i++) {
    const p = `blocks.${i}`;
    const h = layerNormRef(x, w(`${p}.norm1.weight`), w(`${p}.norm1.bias`), rows, d, c.layerNormEps);
    const qkv = linearRef(h, w(`${p}.attn.qkv.weight`), w(`${p}.attn.qkv.bias`), rows, d, 3 * d);
    const hd = d / c.numHeads;
    const a = softmaxRef(attentionScoresRef(qkv, batch, t, c.numHeads, hd), batch * c.numHeads * t, t);
    const o = linearRef(attentionContextRef(a, qkv, batch, t, c.numHeads, hd), w(`${p}.attn.proj.weight`), w(`${p}.attn.proj.bias`), rows, d, d);
    x = add(x, o);
    const h2 = layerNormRef(x, w(`${p}.norm2.weight`), w(`${p}.norm2.bias`), rows, d, c.layerNormEps);
    const f = geluRef(linearRef(h2, w(`${p}.mlp.fc1.weight`), w(`${p}.mlp.fc1.bias`), rows, d, c.mlpHidden));
    x = add(x, linearRef(f, w(`${p}.mlp.fc2.weight`), w(`${p}.mlp.fc2.bias`), rows, c.mlpHidden, d));
  }
  const n = layerNormRef(clsPoolRef(x, batch, t, d), w('norm.weight'), w('norm.bias'), batch, d, c.layerNormEps);
  return linearRef(n, w('head.weight'), w('head.bias'), batch, d, c.numClasses);
}
