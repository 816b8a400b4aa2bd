/**
 * A timm ViT / DeiT checkpoint in memory, and the tensor names and shapes its config implies.
 * Reading and writing the files is src/io/checkpoint-file.ts (pure) and checkpoint-node.ts.
 */
import type { VitConfig } from './config.js';

export interface VitCheckpoint {
  config: VitConfig;
  /** float32 weights by timm key name (without any `model.` prefix). */
  weights: Map<string, Float32Array>;
  /** The checkpoint folder (or URL prefix) the files came from. */
  source: string;
  /** config.json as read, kept verbatim for the quantized-model file. */
  configText: string;
}

/** timm state-dict keys and shapes of a ViT with this config, in model order. */
export function expectedVitTensors(cfg: VitConfig): Map<string, number[]> {
  const { embedDim: d, mlpHidden: h, patchSize: p } = cfg;
  const m = new Map<string, number[]>([
    ['cls_token', [1, 1, d]],
    ['pos_embed', [1, cfg.numTokens, d]],
    ['patch_embed.proj.weight', [d, cfg.inChans, p, p]],
    ['patch_embed.proj.bias', [d]],
  ]);
  for (let i = 0; i < cfg.depth; i++) {
    const b = `blocks.${i}`;
    m.set(`${b}.norm1.weight`, [d]);
    m.set(`${b}.norm1.bias`, [d]);
    m.set(`${b}.attn.qkv.weight`, [3 * d, d]);
    m.set(`${b}.attn.qkv.bias`, [3 * d]);
    m.set(`${b}.attn.proj.weight`, [d, d]);
    m.set(`${b}.attn.proj.bias`, [d]);
    m.set(`${b}.norm2.weight`, [d]);
    m.set(`${b}.norm2.bias`, [d]);
    m.set(`${b}.mlp.fc1.weight`, [h, d]);
    m.set(`${b}.mlp.fc1.bias`, [h]);
    m.set(`${b}.mlp.fc2.weight`, [d, h]);
    m.set(`${b}.mlp.fc2.bias`, [d]);
  }
  m.set('norm.weight', [d]);
  m.set('norm.bias', [d]);
  m.set('head.weight', [cfg.numClasses, d]);
  m.set('head.bias', [cfg.numClasses]);
  return m;
}
