import { describe, expect, it } from 'vitest';
import { parseVitConfig } from '../../src/model/config.js';
import { FimaqError } from '../../src/util/errors.js';

const SRC = 'ckpt/config.json';

function errorOf(config: unknown): string {
  const text = typeof config === 'string' ? config : JSON.stringify(config);
  try {
    parseVitConfig(text, SRC);
  } catch (e) {
    expect(e).toBeInstanceOf(FimaqError);
    const message = (e as Error).message;
    expect(message).toContain(SRC);
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected an error');
}

describe('parseVitConfig: named architectures', () => {
  const cases: [string, number, number, number][] = [
    ['vit_tiny_patch16_224', 192, 12, 3],
    ['vit_small_patch16_224', 384, 12, 6],
    ['vit_base_patch16_224', 768, 12, 12],
    ['deit_tiny_patch16_224', 192, 12, 3],
    ['deit_small_patch16_224', 384, 12, 6],
    ['deit_base_patch16_224', 768, 12, 12],
  ];
  for (const [name, dim, depth, heads] of cases) {
    it(name, () => {
      const cfg = parseVitConfig(JSON.stringify({ architecture: name }), SRC);
      expect(cfg).toMatchObject({
        architecture: name,
        family: name.split('_')[0],
        imgSize: 224,
        patchSize: 16,
        inChans: 3,
        numClasses: 1000,
        embedDim: dim,
        depth,
        numHeads: heads,
        mlpHidden: 4 * dim,
        layerNormEps: 1e-6,
        numPatches: 196,
        numTokens: 197,
      });
      expect(cfg.preprocess.inputSize).toEqual([3, 224, 224]);
      expect(cfg.preprocess.interpolation).toBe('bicubic');
      expect(cfg.preprocess.cropPct).toBe(0.9);
      expect(cfg.labelNames).toBeUndefined();
    });
  }

  it('uses the family default normalization', () => {
    expect(parseVitConfig('{"architecture":"vit_base_patch16_224"}', SRC).preprocess).toMatchObject({
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
    });
    expect(parseVitConfig('{"architecture":"deit_base_patch16_224"}', SRC).preprocess).toMatchObject({
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    });
  });

  it('reads patch and image size from the name, and large sizes', () => {
    const cfg = parseVitConfig('{"architecture":"vit_large_patch32_384"}', SRC);
    expect(cfg).toMatchObject({ embedDim: 1024, depth: 24, numHeads: 16, patchSize: 32, imgSize: 384, numPatches: 144, numTokens: 145 });
  });

  it('parses a full timm hub config with a pretrained tag and label names', () => {
    const labels = Array.from({ length: 1000 }, (_, i) => `class ${i}`);
    const cfg = parseVitConfig(
      JSON.stringify({
        architecture: 'vit_base_patch16_224.augreg2_in21k_ft_in1k',
        num_classes: 1000,
        num_features: 768,
        global_pool: 'token',
        pretrained_cfg: {
          tag: 'augreg2_in21k_ft_in1k',
          custom_load: false,
          input_size: [3, 224, 224],
          fixed_input_size: true,
          interpolation: 'bilinear',
          crop_pct: 0.875,
          crop_mode: 'center',
          mean: [0.1, 0.2, 0.3],
          std: [0.4, 0.5, 0.6],
          num_classes: 1000,
          pool_size: null,
          first_conv: 'patch_embed.proj',
          classifier: 'head',
          label_names: labels,
        },
      }),
      SRC,
    );
    expect(cfg.architecture).toBe('vit_base_patch16_224');
    expect(cfg.preprocess).toEqual({ inputSize: [3, 224, 224], mean: [0.1, 0.2, 0.3], std: [0.4, 0.5, 0.6], interpolation: 'bilinear', cropPct: 0.875 });
    expect(cfg.labelNames).toEqual(labels);
  });

  it('takes label_names from the top level too', () => {
    const cfg = parseVitConfig(JSON.stringify({ architecture: 'vit_tiny_patch16_224', num_classes: 2, label_names: ['cat', 'dog'] }), SRC);
    expect(cfg.labelNames).toEqual(['cat', 'dog']);
  });
});

describe('parseVitConfig: model_args', () => {
  const custom = {
    architecture: 'vit_tiny_patch16_224',
    num_classes: 10,
    model_args: { img_size: 28, patch_size: 4, in_chans: 1, embed_dim: 64, depth: 4, num_heads: 4, num_classes: 10, drop_path_rate: 0.1 },
  };

  it('overrides the sizes of a custom model', () => {
    const cfg = parseVitConfig(JSON.stringify(custom), SRC);
    expect(cfg).toMatchObject({
      family: 'vit',
      imgSize: 28,
      patchSize: 4,
      inChans: 1,
      numClasses: 10,
      embedDim: 64,
      depth: 4,
      numHeads: 4,
      mlpHidden: 256,
      numPatches: 49,
      numTokens: 50,
    });
    expect(cfg.preprocess).toEqual({ inputSize: [1, 28, 28], mean: [0.5], std: [0.5], interpolation: 'bicubic', cropPct: 0.9 });
  });

  it('uses the first ImageNet statistic for a 1-channel deit', () => {
    const cfg = parseVitConfig(JSON.stringify({ ...custom, architecture: 'deit_tiny_patch16_224' }), SRC);
    expect(cfg.preprocess.mean).toEqual([0.485]);
    expect(cfg.preprocess.std).toEqual([0.229]);
  });

  it('accepts square [h, w] sizes and mlp_ratio', () => {
    const cfg = parseVitConfig(
      JSON.stringify({ architecture: 'vit_small_patch16_224', model_args: { img_size: [32, 32], patch_size: [8, 8], mlp_ratio: 2 } }),
      SRC,
    );
    expect(cfg).toMatchObject({ imgSize: 32, patchSize: 8, numPatches: 16, mlpHidden: 768 });
  });

  it('lets top-level num_classes override the default', () => {
    expect(parseVitConfig('{"architecture":"deit_small_patch16_224","num_classes":7}', SRC).numClasses).toBe(7);
  });

  it('accepts graph options at their standard values', () => {
    const args = { class_token: true, global_pool: 'token', no_embed_class: false, qkv_bias: true, fc_norm: null, reg_tokens: 0, dynamic_img_size: false };
    expect(parseVitConfig(JSON.stringify({ architecture: 'vit_tiny_patch16_224', model_args: args }), SRC).embedDim).toBe(192);
  });
});

describe('parseVitConfig errors name the field', () => {
  it('unknown architectures say which are supported', () => {
    for (const name of ['swin_tiny_patch4_window7_224', 'resnet50', 'deit_base_distilled_patch16_224', 'vit_huge_patch14_224']) {
      const message = errorOf({ architecture: name });
      expect(message).toContain(`architecture '${name}' is not supported`);
      expect(message).toContain('supported: vit_*');
    }
    expect(errorOf({ architecture: 'deit_base_distilled_patch16_224' })).toContain('distill');
  });

  it('missing architecture, with a hint for transformers configs', () => {
    expect(errorOf({ num_classes: 3 })).toContain('architecture is missing');
    expect(errorOf({ architectures: ['ViTForImageClassification'] })).toContain('transformers');
  });

  it('invalid JSON', () => {
    expect(errorOf('{"architecture": ')).toContain('not valid JSON');
    expect(errorOf('[1]')).toContain('JSON object');
  });

  it('embed_dim not divisible by num_heads', () => {
    const message = errorOf({ architecture: 'vit_tiny_patch16_224', model_args: { embed_dim: 100, num_heads: 3 } });
    expect(message).toContain('embed_dim 100 is not divisible by num_heads 3');
  });

  it('img_size not divisible by patch_size', () => {
    expect(errorOf({ architecture: 'vit_tiny_patch16_224', model_args: { img_size: 30 } })).toContain('img_size 30 is not divisible by patch_size 16');
  });

  it('non-positive or non-integer sizes', () => {
    expect(errorOf({ architecture: 'vit_tiny_patch16_224', model_args: { depth: 0 } })).toContain('model_args.depth must be a positive integer');
    expect(errorOf({ architecture: 'vit_tiny_patch16_224', num_classes: 'ten' })).toContain('num_classes must be a positive integer');
    expect(errorOf({ architecture: 'vit_tiny_patch16_224', model_args: { img_size: [32, 16] } })).toContain('model_args.img_size');
  });

  it('conflicting num_classes', () => {
    expect(errorOf({ architecture: 'vit_tiny_patch16_224', num_classes: 10, model_args: { num_classes: 100 } })).toContain(
      'num_classes 10 conflicts with model_args.num_classes 100',
    );
  });

  it('graph-changing model_args are not supported', () => {
    const bad: Record<string, unknown> = {
      class_token: false,
      global_pool: 'avg',
      no_embed_class: true,
      qkv_bias: false,
      fc_norm: true,
      reg_tokens: 4,
      dynamic_img_size: true,
      init_values: 1e-5,
      some_new_option: 1,
    };
    for (const [key, value] of Object.entries(bad)) {
      const message = errorOf({ architecture: 'vit_base_patch16_224', model_args: { [key]: value } });
      expect(message).toContain(`model_args.${key}`);
      expect(message).toContain('not supported');
    }
    expect(errorOf({ architecture: 'vit_base_patch16_224', global_pool: 'avg' })).toContain('global_pool="avg" is not supported');
  });

  it('bad preprocessing fields', () => {
    const arch = 'vit_base_patch16_224';
    expect(errorOf({ architecture: arch, pretrained_cfg: { input_size: [3, 384, 384] } })).toContain('pretrained_cfg.input_size');
    expect(errorOf({ architecture: arch, pretrained_cfg: { mean: [0.5, 0.5] } })).toContain('pretrained_cfg.mean must be a list of 3');
    expect(errorOf({ architecture: arch, pretrained_cfg: { std: [0.5, 0, 0.5] } })).toContain('pretrained_cfg.std');
    expect(errorOf({ architecture: arch, pretrained_cfg: { interpolation: 'lanczos' } })).toContain('pretrained_cfg.interpolation "lanczos"');
    expect(errorOf({ architecture: arch, pretrained_cfg: { crop_pct: 0 } })).toContain('pretrained_cfg.crop_pct');
    expect(errorOf({ architecture: arch, pretrained_cfg: { crop_mode: 'squash' } })).toContain('pretrained_cfg.crop_mode');
    expect(errorOf({ architecture: arch, pretrained_cfg: { label_names: ['a'] } })).toContain('pretrained_cfg.label_names has 1 names');
    expect(errorOf({ architecture: 'deit_tiny_patch16_224', model_args: { in_chans: 4 } })).toContain('pretrained_cfg.mean is required');
  });

  it('num_features that disagrees with embed_dim', () => {
    expect(errorOf({ architecture: 'vit_small_patch16_224', num_features: 768 })).toContain('num_features 768 does not match embed_dim 384');
  });
});
