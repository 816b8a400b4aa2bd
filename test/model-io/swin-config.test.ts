import { describe, expect, it } from 'vitest';
import { checkpointFromBytes, checkpointToSafetensors } from '../../src/io/checkpoint-file.js';
import { serializeSafetensors } from '../../src/io/safetensors.js';
import { expectedSwinTensors } from '../../src/model/checkpoint.js';
import { parseModelConfig } from '../../src/model/model-config.js';
import { parseSwinConfig, swinWindowing } from '../../src/model/swin-config.js';
import { FimaqError } from '../../src/util/errors.js';
import { randomSwinCheckpoint } from '../helpers/random-vit.js';

const SRC = 'ckpt/config.json';

function errorOf(config: unknown): string {
  try {
    parseModelConfig(JSON.stringify(config), SRC);
  } catch (e) {
    expect(e).toBeInstanceOf(FimaqError);
    const message = (e as Error).message;
    expect(message).toContain(SRC);
    return message;
  }
  throw new Error('expected an error');
}

const DEMO_ARGS = { img_size: 28, patch_size: 2, window_size: 7, in_chans: 1, num_classes: 10, embed_dim: 32, depths: [2, 2], num_heads: [2, 4], mlp_ratio: 4.0 };

describe('parseSwinConfig', () => {
  // timm's registered sizes (swin_transformer.py): embed_dim, depths, num_heads.
  const named: [string, number, number[], number[]][] = [
    ['swin_tiny_patch4_window7_224', 96, [2, 2, 6, 2], [3, 6, 12, 24]],
    ['swin_small_patch4_window7_224', 96, [2, 2, 18, 2], [3, 6, 12, 24]],
    ['swin_base_patch4_window7_224', 128, [2, 2, 18, 2], [4, 8, 16, 32]],
    ['swin_base_patch4_window12_384', 128, [2, 2, 18, 2], [4, 8, 16, 32]],
  ];
  for (const [name, dim, depths, heads] of named) {
    it(name, () => {
      const cfg = parseModelConfig(JSON.stringify({ architecture: `${name}.ms_in22k_ft_in1k` }), SRC);
      if (cfg.family !== 'swin') throw new Error('not parsed as a Swin');
      const window = name.includes('window12') ? 12 : 7;
      const grid = (name.endsWith('384') ? 384 : 224) / 4;
      expect(cfg).toMatchObject({ architecture: name, embedDim: dim, windowSize: window, gridSize: grid, numClasses: 1000, numFeatures: dim * 8, layerNormEps: 1e-5 });
      expect(cfg.stages.map((s) => [s.depth, s.numHeads, s.dim, s.resolution])).toEqual(depths.map((d, i) => [d, heads[i], dim * 2 ** i, grid / 2 ** i]));
      // The last stage's grid is one window: no shift there; the others shift by half a window.
      expect(cfg.stages.map((s) => s.windowing[1].shift)).toEqual([Math.floor(window / 2), Math.floor(window / 2), Math.floor(window / 2), 0]);
      expect(cfg.preprocess.mean).toEqual([0.485, 0.456, 0.406]);
    });
  }

  it('custom sizes from model_args: the demo Swin', () => {
    const cfg = parseSwinConfig(JSON.stringify({ architecture: 'swin_tiny_patch4_window7_224', model_args: { ...DEMO_ARGS, drop_path_rate: 0.1 } }), SRC);
    expect(cfg.gridSize).toBe(14);
    expect(cfg.stages).toHaveLength(2);
    expect(cfg.stages[0]).toMatchObject({ dim: 32, inDim: 32, resolution: 14, downsample: false, numHeads: 2, mlpHidden: 128 });
    expect(cfg.stages[0]!.windowing).toEqual([
      { window: 7, shift: 0, padded: 14, numWindows: 4 },
      { window: 7, shift: 3, padded: 14, numWindows: 4 },
    ]);
    expect(cfg.stages[1]).toMatchObject({ dim: 64, inDim: 32, resolution: 7, downsample: true, numHeads: 4 });
    expect(cfg.stages[1]!.windowing[1]).toEqual({ window: 7, shift: 0, padded: 7, numWindows: 1 });
  });

  it('windows: clamped to the grid, padded to whole windows after the shift', () => {
    expect(swinWindowing(12, 5, true)).toEqual({ window: 5, shift: 2, padded: 15, numWindows: 9 });
    expect(swinWindowing(3, 5, true)).toEqual({ window: 3, shift: 0, padded: 3, numWindows: 1 });
    expect(swinWindowing(5, 5, true)).toEqual({ window: 5, shift: 0, padded: 5, numWindows: 1 });
    expect(swinWindowing(6, 5, false)).toEqual({ window: 5, shift: 0, padded: 10, numWindows: 4 });
  });

  it('refuses graphs it does not implement, naming the field', () => {
    const base = { architecture: 'swin_tiny_patch4_window7_224' };
    expect(errorOf({ ...base, model_args: { global_pool: '' } })).toMatch(/model_args.global_pool="" is not supported/);
    expect(errorOf({ ...base, model_args: { head_dim: 16 } })).toMatch(/head_dim=16/);
    expect(errorOf({ ...base, model_args: { always_partition: true } })).toMatch(/always_partition/);
    expect(errorOf({ ...base, model_args: { strict_img_size: false } })).toMatch(/strict_img_size/);
    expect(errorOf({ ...base, model_args: { ape: true } })).toMatch(/model_args.ape is not supported/);
    expect(errorOf({ ...base, model_args: { mlp_ratio: [4, 4, 4, 4] } })).toMatch(/mlp_ratio must be a positive number/);
    expect(errorOf({ ...base, model_args: { depths: [2, 2], num_heads: [3, 6, 12] } })).toMatch(/num_heads has 3 entries but depths has 2/);
    expect(errorOf({ ...base, model_args: { embed_dim: 100, num_heads: [3, 6, 12, 24] } })).toMatch(/stage 0 width 100 is not divisible by its 3 heads/);
    // 28 / 4 = 7 patches a side: stage 1 would merge an odd grid, which timm's blocks do not match.
    expect(errorOf({ ...base, model_args: { img_size: 28 } })).toMatch(/stage 1 merges a 7x7 grid/);
    expect(errorOf({ architecture: 'swin_huge_patch4_window7_224' })).toMatch(/'swin_huge_patch4_window7_224' is not supported \(supported: swin_\*/);
    expect(errorOf({ architecture: 'swinv2_tiny_window8_256' })).toMatch(/is not supported/);
    expect(errorOf({ ...base, num_features: 96 })).toMatch(/num_features 96 does not match the last stage's width 768/);
  });

  it("a ViT name's error lists Swin among the supported architectures", () => {
    expect(errorOf({ architecture: 'convnext_tiny' })).toMatch(/vit_\* and deit_\*.*swin_\*/);
  });
});

describe('Swin checkpoints', () => {
  const configText = JSON.stringify({ architecture: 'swin_tiny_patch4_window7_224', model_args: DEMO_ARGS });

  it("lists timm's keys: patch merging from stage 1, a bias table per block, head.fc", () => {
    const keys = expectedSwinTensors(parseSwinConfig(configText, SRC));
    expect(keys.get('patch_embed.norm.weight')).toEqual([32]);
    expect(keys.get('layers.0.blocks.1.attn.relative_position_bias_table')).toEqual([169, 2]);
    expect(keys.has('layers.0.downsample.reduction.weight')).toBe(false);
    expect(keys.get('layers.1.downsample.norm.weight')).toEqual([128]);
    expect(keys.get('layers.1.downsample.reduction.weight')).toEqual([64, 128]);
    expect(keys.has('layers.1.downsample.reduction.bias')).toBe(false);
    expect(keys.get('head.fc.weight')).toEqual([10, 64]);
    expect(keys.get('norm.bias')).toEqual([64]);
  });

  it('round-trips through model.safetensors and reports a missing bias table by name', () => {
    const ckpt = randomSwinCheckpoint(configText, 3);
    const bytes = checkpointToSafetensors(ckpt);
    const back = checkpointFromBytes(configText, bytes, 'swin');
    expect(back.config.family).toBe('swin');
    expect(back.weights.get('layers.1.blocks.0.attn.relative_position_bias_table')).toEqual(ckpt.weights.get('layers.1.blocks.0.attn.relative_position_bias_table'));
    const missing = 'layers.0.blocks.1.attn.relative_position_bias_table';
    const tensors = Object.fromEntries(
      [...expectedSwinTensors(ckpt.config)].filter(([name]) => name !== missing).map(([name, shape]) => [name, { dtype: 'F32' as const, shape, data: ckpt.weights.get(name)! }]),
    );
    const partial = serializeSafetensors(tensors);
    expect(() => checkpointFromBytes(configText, partial, 'swin')).toThrow(/swin\/model.safetensors: does not match swin_tiny_patch4_window7_224 from config.json: missing tensors: layers.0.blocks.1.attn.relative_position_bias_table/);
  });
});
