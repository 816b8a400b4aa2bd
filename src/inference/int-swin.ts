/**
 * The integer pipeline of a quantized Swin (QuantizedSwin), built from IntVit's parts
 * (int-layers.ts) on the float Swin's token maps and attention biases:
 *
 *   images ─im2col─▶ ─packed-weight-linear─▶ ─layer-norm─▶ x [B,R²,E]         (the image stays float)
 *   stage i > 0: x ─token-gather(2x2)─▶ ─layer-norm─▶ ─quantize-codes (per tensor)─▶ ─int-linear(reduction)─▶
 *   block: x ─layer-norm─▶ ─token-gather(windows)─▶ ─quantize-codes (per window position)─▶ ─int-linear(qkv)─▶
 *     integer attention per window, the bias and mask added to the rescaled scores before the softmax
 *     ─int-linear(proj)─▶ ─token-gather(back)─▶ ─add─▶ MLP on codes (per grid position) ─add─▶
 *   last x ─layer-norm─▶ ─mean-pool─▶ ─quantize-codes (per tensor)─▶ ─int-linear(head.fc)─▶ logits
 *
 * Codes, scales and zero-points are those of the fake-quant evaluation, so both compute the same
 * function up to float rounding. The token maps and attention biases are the float Swin's
 * (uploadSwinGeometry).
 */
import type { Classifier } from '../model/classifier.js';
import type { SwinConfig } from '../model/swin-config.js';
import { type StageGeometry, releaseSwinGeometry, uploadSwinGeometry } from '../model/swin.js';
import { add } from '../ops/add.js';
import { im2colRows } from '../ops/im2col.js';
import type { UploadedPackedWeight } from '../ops/int-linear.js';
import { layerNorm } from '../ops/layer-norm.js';
import { meanPool } from '../ops/mean-pool.js';
import { packedWeightLinear } from '../ops/packed-weight-linear.js';
import { tokenGather } from '../ops/token-gather.js';
import type { QuantizedSwin } from '../quant/quantized-model.js';
import type { GpuContext, Tensor } from '../runtime/context.js';
import { type IntBlock, type IntLinearLayer, IntUploader, intAttention, intLinearLayer, intMlpResidual } from './int-layers.js';

export class IntSwin implements Classifier {
  private readonly owned: { release(): void }[] = [];

  private constructor(
    readonly ctx: GpuContext,
    readonly config: SwinConfig,
    private readonly geometry: StageGeometry[],
    private readonly patch: { weight: UploadedPackedWeight; bias: Tensor; norm: [Tensor, Tensor] },
    /** Each stage's blocks. */
    private readonly blocks: IntBlock[][],
    /** Each stage's patch merging (null for the first stage). */
    private readonly merges: ({ norm: [Tensor, Tensor]; reduction: IntLinearLayer } | null)[],
    private readonly norm: [Tensor, Tensor],
    private readonly head: IntLinearLayer,
  ) {}

  /** Uploads the packed codes and the float parameters of a quantized Swin. */
  static upload(ctx: GpuContext, q: QuantizedSwin): IntSwin {
    const cfg = q.config;
    const up = new IntUploader(ctx, q.floats);
    const ln = (p: string): [Tensor, Tensor] => [up.float(`${p}.weight`), up.float(`${p}.bias`)];
    const table = (p: string) => {
      const t = q.floats.get(`${p}.attn.relative_position_bias_table`);
      if (!t) throw new Error(`quantized model has no float tensor ${p}.attn.relative_position_bias_table`);
      return t;
    };
    // Blocks and merges come in model order in the QuantizedSwin.
    let block = 0;
    let merge = 0;
    const blocks = cfg.stages.map((s, i) => Array.from({ length: s.depth }, (_, j) => up.block(`layers.${i}.blocks.${j}`, q.blocks[block++]!, s.numHeads)));
    const merges = cfg.stages.map((s, i) =>
      s.downsample ? { norm: ln(`layers.${i}.downsample.norm`), reduction: up.layer(`layers.${i}.downsample.reduction`, q.merges[merge++]!) } : null,
    );
    const model = new IntSwin(
      ctx,
      cfg,
      uploadSwinGeometry(ctx, cfg, table),
      { weight: up.packed('patch_embed.proj.weight', q.patchEmbed.weight), bias: up.float('patch_embed.proj.bias'), norm: ln('patch_embed.norm') },
      blocks,
      merges,
      ln('norm'),
      up.layer('head.fc', q.head, 'head.input'),
    );
    model.owned.push(...up.owned);
    return model;
  }

  get inputShape(): readonly [number, number, number] {
    return [this.config.inChans, this.config.imgSize, this.config.imgSize];
  }

  get numClasses(): number {
    return this.config.numClasses;
  }

  private block(i: number, j: number, x: Tensor): Tensor {
    const ctx = this.ctx;
    const stage = this.geometry[i]!;
    const s = stage.config;
    const maps = stage.maps[j % 2]!;
    const b = this.blocks[i]![j]!;
    const batch = x.shape[0]!;
    const n = maps.windowing.window ** 2;
    const eps = this.config.layerNormEps;
    const p = `layers.${i}.blocks.${j}`;
    const h = layerNorm(ctx, x, b.norm1[0], b.norm1[1], eps, `${p}.norm1`);
    const windows = tokenGather(ctx, h, maps.partition, batch, s.dim, [batch * maps.windowing.numWindows, n, s.dim], `${p}.windows`);
    h.release();
    const qkv = intLinearLayer(ctx, windows, b.qkv, `${p}.attn.qkv`);
    const proj = intLinearLayer(ctx, intAttention(ctx, qkv, b, `${p}.attn`, stage.attnBias[j]!), b.proj, `${p}.attn.proj`);
    const back = tokenGather(ctx, proj, maps.merge, batch, s.dim, [batch, s.resolution ** 2, s.dim], `${p}.unwindow`);
    proj.release();
    const x1 = add(ctx, x, back, `${p}.residual1`);
    back.release();
    const out = intMlpResidual(ctx, x1, b, eps, p);
    x1.release();
    return out;
  }

  private downsample(i: number, x: Tensor): Tensor {
    const { config: s, mergeMap } = this.geometry[i]!;
    const m = this.merges[i]!;
    const batch = x.shape[0]!;
    const p = `layers.${i}.downsample`;
    const merged = tokenGather(this.ctx, x, mergeMap!, batch, s.inDim, [batch, s.resolution ** 2, 4 * s.inDim], `${p}.merge`);
    const n = layerNorm(this.ctx, merged, m.norm[0], m.norm[1], this.config.layerNormEps, `${p}.norm`);
    merged.release();
    return intLinearLayer(this.ctx, n, m.reduction, `${p}.reduction`, { perTensor: true });
  }

  /** Logits [B, classes] for preprocessed images [B, C, H, W]. */
  forward(images: Tensor): Tensor {
    const ctx = this.ctx;
    const rows = im2colRows(ctx, images, this.config.patchSize, 'patch_embed.rows');
    const patches = packedWeightLinear(ctx, rows, this.patch.weight, this.patch.bias, 'patch_embed');
    rows.release();
    let x = layerNorm(ctx, patches, this.patch.norm[0], this.patch.norm[1], this.config.layerNormEps, 'patch_embed.norm');
    patches.release();
    const step = (next: Tensor) => {
      x.release();
      x = next;
    };
    this.config.stages.forEach((s, i) => {
      if (s.downsample) step(this.downsample(i, x));
      for (let j = 0; j < s.depth; j++) step(this.block(i, j, x));
    });
    const normed = layerNorm(ctx, x, this.norm[0], this.norm[1], this.config.layerNormEps, 'norm');
    x.release();
    const pooled = meanPool(ctx, normed, 'head.pool');
    normed.release();
    return intLinearLayer(ctx, pooled, this.head, 'head.fc', { perTensor: true });
  }

  release(): void {
    releaseSwinGeometry(this.geometry);
    for (const t of this.owned.splice(0)) t.release();
  }
}
