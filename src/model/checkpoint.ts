/**
 * A timm ViT / DeiT / Swin checkpoint in memory, and the tensor names and shapes its config implies.
 * Reading and writing the files is src/io/checkpoint-file.ts (pure) and checkpoint-node.ts.
 */
import type { VitConfig } from './config.js';
import type { ModelConfig } from './model-config.js';
import type { SwinConfig } from './swin-config.js';
import { FimaqError } from '../util/errors.js';

export interface Checkpoint<C extends ModelConfig> {
  config: C;
  /** float32 weights by timm key name (without any `model.` prefix). */
  weights: Map<string, Float32Array>;
  /** The checkpoint folder (or URL prefix) the files came from. */
  source: string;
  /** config.json as read, kept verbatim for the quantized-model file. */
  configText: string;
}

export type VitCheckpoint = Checkpoint<VitConfig>;
export type SwinCheckpoint = Checkpoint<SwinConfig>;
export type ModelCheckpoint = VitCheckpoint | SwinCheckpoint;

export function isSwinCheckpoint(c: ModelCheckpoint): c is SwinCheckpoint {
  return c.config.family === 'swin';
}

/** The checkpoint, for work that only ViT / DeiT models have so far (quantization of a Swin is [E7], in progress). */
export function requireVit(c: ModelCheckpoint, command: string): VitCheckpoint {
  if (isSwinCheckpoint(c)) {
    throw new FimaqError(`${c.source}: ${command} does not support Swin models yet (${c.config.architecture})`);
  }
  return c;
}

/**
 * A pre-LN block's keys and shapes under prefix `b`, in timm's order; `attnExtra` (a Swin's relative
 * position bias table) comes between norm1 and qkv, where timm's state dict has it.
 */
function setBlockTensors(m: Map<string, number[]>, b: string, d: number, h: number, attnExtra?: [string, number[]]): void {
  m.set(`${b}.norm1.weight`, [d]);
  m.set(`${b}.norm1.bias`, [d]);
  if (attnExtra) m.set(`${b}.${attnExtra[0]}`, attnExtra[1]);
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

/** timm state-dict keys and shapes of a ViT with this config, in model order. */
export function expectedVitTensors(cfg: VitConfig): Map<string, number[]> {
  const { embedDim: d, mlpHidden: h, patchSize: p } = cfg;
  const m = new Map<string, number[]>([
    ['cls_token', [1, 1, d]],
    ['pos_embed', [1, cfg.numTokens, d]],
    ['patch_embed.proj.weight', [d, cfg.inChans, p, p]],
    ['patch_embed.proj.bias', [d]],
  ]);
  for (let i = 0; i < cfg.depth; i++) setBlockTensors(m, `blocks.${i}`, d, h);
  m.set('norm.weight', [d]);
  m.set('norm.bias', [d]);
  m.set('head.weight', [cfg.numClasses, d]);
  m.set('head.bias', [cfg.numClasses]);
  return m;
}

/** timm state-dict keys and shapes of a SwinTransformer with this config, in model order. */
export function expectedSwinTensors(cfg: SwinConfig): Map<string, number[]> {
  const e = cfg.embedDim;
  const m = new Map<string, number[]>([
    ['patch_embed.proj.weight', [e, cfg.inChans, cfg.patchSize, cfg.patchSize]],
    ['patch_embed.proj.bias', [e]],
    ['patch_embed.norm.weight', [e]],
    ['patch_embed.norm.bias', [e]],
  ]);
  cfg.stages.forEach((s, i) => {
    if (s.downsample) {
      m.set(`layers.${i}.downsample.norm.weight`, [4 * s.inDim]);
      m.set(`layers.${i}.downsample.norm.bias`, [4 * s.inDim]);
      m.set(`layers.${i}.downsample.reduction.weight`, [s.dim, 4 * s.inDim]);
    }
    for (let j = 0; j < s.depth; j++) {
      const table = (2 * s.windowing[j % 2]!.window - 1) ** 2;
      setBlockTensors(m, `layers.${i}.blocks.${j}`, s.dim, s.mlpHidden, ['attn.relative_position_bias_table', [table, s.numHeads]]);
    }
  });
  m.set('norm.weight', [cfg.numFeatures]);
  m.set('norm.bias', [cfg.numFeatures]);
  m.set('head.fc.weight', [cfg.numClasses, cfg.numFeatures]);
  m.set('head.fc.bias', [cfg.numClasses]);
  return m;
}

/** The tensors a checkpoint of this config holds. */
export function expectedTensors(cfg: ModelConfig): Map<string, number[]> {
  return cfg.family === 'swin' ? expectedSwinTensors(cfg) : expectedVitTensors(cfg);
}
