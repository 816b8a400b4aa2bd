/**
 * What reconstruction needs to know of a model family (../shared/docs/fimaq-method.md §5.1): the
 * units in the method's order, each unit's forward (float, or fake-quant through hooks), the head
 * unit's input, the trainable unit from the float weights and the current quantizers, where its
 * finished codes and scales go, and the float tail after it for the Fisher losses.
 *   ViT/DeiT: patch_embed (the conv), blocks.{i}, head (the Linear on the normed class token).
 *   Swin: patch_embed (the conv and its LayerNorm), per stage its patch merging
 *   (layers.{i}.downsample) then its blocks (layers.{i}.blocks.{j}), head (average pool and fc on
 *   the normed tokens).
 */
import type { ModelCheckpoint } from '../model/checkpoint.js';
import type { ModelConfig } from '../model/model-config.js';
import { swinBlocks, swinSteps } from '../model/swin-config.js';
import { SwinTail } from '../model/swin-tail.js';
import type { SwinModel } from '../model/swin.js';
import { VitTail } from '../model/vit-tail.js';
import type { ForwardHooks, VitModel } from '../model/vit.js';
import { clsPool } from '../ops/cls-pool.js';
import { embedTokens } from '../ops/embed-tokens.js';
import { gatherRows } from '../ops/gather-rows.js';
import { layerNorm } from '../ops/layer-norm.js';
import { linear } from '../ops/matmul.js';
import { meanPool } from '../ops/mean-pool.js';
import { tokenGather } from '../ops/token-gather.js';
import type { GpuContext, Tensor } from '../runtime/context.js';
import { type ActivationQuant, type BlockQuant, type QuantizedModel, type QuantizedSwin, type WeightQuant, swinMergeNames } from '../quant/quantized-model.js';
import type { FisherTail } from './fisher.js';
import { TrainableActivation, TrainableWeight } from './trainable.js';
import { BlockUnit, LinearUnit, MappedInputUnit, NormedOutputUnit, type ReconUnit } from './units.js';

export type FloatModel = VitModel | SwinModel;

const isSwin = (m: FloatModel): m is SwinModel => m.config.family === 'swin';

/** The reconstruction units of a model, in the method's order. */
export function unitNames(cfg: ModelConfig): string[] {
  const body = cfg.family === 'swin' ? swinSteps(cfg).map((s) => s.name) : Array.from({ length: cfg.depth }, (_, i) => `blocks.${i}`);
  return ['patch_embed', ...body, 'head'];
}

/** Stage and block of a Swin unit name `layers.{i}.blocks.{j}` or `layers.{i}.downsample`. */
function swinUnit(name: string): { stage: number; block: number | null } {
  const m = /^layers\.(\d+)\.(?:blocks\.(\d+)|downsample)$/.exec(name);
  if (!m) throw new Error(`reconstruction: no Swin unit ${name}`);
  return { stage: Number(m[1]), block: m[2] === undefined ? null : Number(m[2]) };
}

const vitBlock = (name: string) => Number(name.slice('blocks.'.length));

/** The patch embedding unit's output from patches [B, P, C·p·p] (a Swin's includes its LayerNorm). */
export function patchEmbedOutput(ctx: GpuContext, model: FloatModel, weight: Tensor, patches: Tensor): Tensor {
  const y = linear(ctx, patches, weight, model.patchEmbed.bias, 'patch_embed');
  if (!isSwin(model)) return y;
  const n = layerNorm(ctx, y, model.patchNorm.gamma, model.patchNorm.beta, model.config.layerNormEps, 'patch_embed.norm');
  y.release();
  return n;
}

/** Unit `name` (not the patch embedding) on its input: the float model's, or fake-quant with the model's hooks. */
export function unitForward(model: FloatModel, name: string, x: Tensor, hooks?: ForwardHooks): Tensor {
  const { ctx } = model;
  if (name === 'head') {
    const features = isSwin(model) ? meanPool(ctx, x, 'head.pool') : x;
    // Not applyHook: it would release the caller's x when the hook replaces it.
    const input = hooks ? hooks.activation('head.input', features) : features;
    if (features !== x && input !== features) features.release();
    const y = linear(ctx, input, model.head.weight, model.head.bias, 'head');
    if (input !== x) input.release();
    return y;
  }
  if (!isSwin(model)) return model.block(vitBlock(name), x, hooks);
  const { stage, block } = swinUnit(name);
  return block === null ? model.downsample(stage, x, hooks) : model.block(stage, block, x, hooks);
}

/** The head unit's input from the last block's tokens: the normed class token, or a Swin's normed tokens. */
export function headInput(model: FloatModel, x: Tensor): Tensor {
  const { ctx } = model;
  const eps = model.config.layerNormEps;
  if (isSwin(model)) return layerNorm(ctx, x, model.norm.gamma, model.norm.beta, eps, 'recon.norm');
  const pooled = clsPool(ctx, x, 'recon.cls_pool');
  const n = layerNorm(ctx, pooled, model.norm.gamma, model.norm.beta, eps, 'recon.norm');
  pooled.release();
  return n;
}

function weightOf(weights: Map<string, Float32Array>, name: string): Float32Array {
  const w = weights.get(name);
  if (!w) throw new Error(`reconstruction: no float tensor ${name}`);
  return w;
}

/** The trainable unit `name` from the float weights and the current quantizers (QDrop threshold keepProb). */
export function buildUnit(ctx: GpuContext, name: string, fp: FloatModel, float: ModelCheckpoint, q: QuantizedModel, keepProb: number): ReconUnit {
  const w = float.weights;
  // A Swin reduction has a bias only after RepQ-ViT folding; zero otherwise, as the quantized file stores it.
  const trainable = (prefix: string, quant: WeightQuant) =>
    new TrainableWeight(ctx, quant, weightOf(w, `${prefix}.weight`), w.get(`${prefix}.bias`) ?? new Float32Array(quant.rows), prefix);
  const act = (a: ActivationQuant, label: string) => new TrainableActivation(ctx, a, keepProb, label);
  const norm = (prefix: string, dim: number) => ({
    gamma: ctx.upload(weightOf(w, `${prefix}.weight`), [dim], `${prefix}.weight`),
    beta: ctx.upload(weightOf(w, `${prefix}.bias`), [dim], `${prefix}.bias`),
  });
  const eps = fp.config.layerNormEps;
  if (name === 'patch_embed') {
    const unit = new LinearUnit(ctx, name, trainable('patch_embed.proj', q.patchEmbed.weight), null);
    return isSwin(fp) ? new NormedOutputUnit(ctx, unit, norm('patch_embed.norm', fp.config.embedDim), eps) : unit;
  }
  if (name === 'head') {
    if (!isSwin(fp)) return new LinearUnit(ctx, name, trainable('head', q.head.weight), act(q.head.input, 'head.input'));
    const unit = new LinearUnit(ctx, name, trainable('head.fc', q.head.weight), act(q.head.input, 'head.input'));
    return new MappedInputUnit(unit, (x) => meanPool(ctx, x, 'head.pool'));
  }
  const block = (b: BlockQuant, dim: number, shape: ConstructorParameters<typeof BlockUnit>[2]) =>
    new BlockUnit(
      ctx,
      name,
      shape,
      norm(`${name}.norm1`, dim),
      norm(`${name}.norm2`, dim),
      {
        qkv: trainable(`${name}.attn.qkv`, b.qkv.weight),
        proj: trainable(`${name}.attn.proj`, b.proj.weight),
        fc1: trainable(`${name}.mlp.fc1`, b.fc1.weight),
        fc2: trainable(`${name}.mlp.fc2`, b.fc2.weight),
      },
      {
        qkvIn: act(b.qkv.input, `${name}.attn.qkv.input`),
        q: act(b.q, `${name}.attn.q`),
        k: act(b.k, `${name}.attn.k`),
        v: act(b.v, `${name}.attn.v`),
        attn: act(b.attn, `${name}.attn.map`),
        projIn: act(b.proj.input, `${name}.attn.proj.input`),
        fc1In: act(b.fc1.input, `${name}.mlp.fc1.input`),
        fc2In: act(b.fc2.input, `${name}.mlp.fc2.input`),
      },
    );
  if (!isSwin(fp)) return block(q.blocks[vitBlock(name)]!, fp.config.embedDim, { heads: fp.config.numHeads, eps });
  const sq = q as QuantizedSwin;
  const { stage, block: j } = swinUnit(name);
  const s = fp.config.stages[stage]!;
  if (j !== null) return block(sq.blocks[swinBlockIndex(fp, name)]!, s.dim, fp.blockShape(stage, j));
  const merge = sq.merges[swinMergeNames(fp.config).indexOf(`${name}.reduction`)]!;
  const unit = new LinearUnit(ctx, name, trainable(`${name}.reduction`, merge.weight), act(merge.input, `${name}.reduction.input`));
  const { geometry } = fp.stages[stage]!;
  const n = norm(`${name}.norm`, 4 * s.inDim);
  // The 2x2 gather and the LayerNorm see only the unit's input: float, no gradient needed.
  const mergeInput = (x: Tensor) => {
    const batch = x.shape[0]!;
    const merged = tokenGather(ctx, x, geometry.mergeMap!, batch, s.inDim, [batch, s.resolution ** 2, 4 * s.inDim], `${name}.merge`);
    const y = layerNorm(ctx, merged, n.gamma, n.beta, eps, `${name}.norm`);
    merged.release();
    return y;
  };
  return new MappedInputUnit(unit, mergeInput, [n.gamma, n.beta]);
}

function swinBlockIndex(fp: SwinModel, name: string): number {
  return swinBlocks(fp.config).findIndex((b) => b.name === name);
}

/** The linear inside a unit that wraps one. */
function innerLinear(unit: ReconUnit): LinearUnit | null {
  if (unit instanceof LinearUnit) return unit;
  if (unit instanceof MappedInputUnit || unit instanceof NormedOutputUnit) return unit.inner;
  return null;
}

/** Hard-rounds the finished unit and writes its codes and learned scales into the model. */
export async function storeUnit(unit: ReconUnit, name: string, fp: FloatModel, q: QuantizedModel): Promise<void> {
  const lin = innerLinear(unit);
  if (lin) {
    const weight = await lin.weight.codes();
    const input = lin.input ? await lin.input.learned() : null;
    if (name === 'patch_embed') q.patchEmbed = { weight };
    else if (name === 'head') q.head = { weight, input: input ?? q.head.input };
    else if (isSwin(fp) && input) (q as QuantizedSwin).merges[swinMergeNames(fp.config).indexOf(`${name}.reduction`)] = { weight, input };
    else throw new Error(`reconstruction: unknown linear unit ${name}`);
    return;
  }
  if (!(unit instanceof BlockUnit)) throw new Error(`reconstruction: unknown unit ${name}`);
  const i = isSwin(fp) ? swinBlockIndex(fp, name) : vitBlock(name);
  const { weights: w, acts: a } = unit;
  q.blocks[i] = {
    qkv: { weight: await w.qkv.codes(), input: await a.qkvIn.learned() },
    proj: { weight: await w.proj.codes(), input: await a.projIn.learned() },
    fc1: { weight: await w.fc1.codes(), input: await a.fc1In.learned() },
    fc2: { weight: await w.fc2.codes(), input: await a.fc2In.learned() },
    q: await a.q.learned(),
    k: await a.k.learned(),
    v: await a.v.learned(),
    attn: await a.attn.learned(),
  };
}

/** The float rest of the model after a unit, seen from the unit's output. */
export function tailAfter(ctx: GpuContext, model: FloatModel, unit: string): FisherTail {
  if (isSwin(model)) {
    const first = unit === 'patch_embed' ? 0 : swinSteps(model.config).findIndex((s) => s.name === unit) + 1;
    return new SwinTail(model, first);
  }
  if (unit !== 'patch_embed') return new VitTail(model, vitBlock(unit) + 1);
  // A ViT's patch embedding output gets the class token and position embedding first; its
  // gradient is the token gradient without the class token's row.
  const inner = new VitTail(model, 0);
  let tokens: Tensor | null = null;
  // Token rows of the patches (all but each image's class token), uploaded once per batch size.
  let rows: Tensor | null = null;
  return {
    forward(z: Tensor): Tensor {
      tokens = embedTokens(ctx, z, model.clsToken, model.posEmbed, 'fisher.tokens');
      return inner.forward(tokens);
    },
    backward(dLogits: Tensor): Tensor {
      const dTokens = inner.backward(dLogits);
      const [batch, t, d] = dTokens.shape;
      if (rows?.size !== batch * (t - 1)) {
        const patchRows = Uint32Array.from({ length: batch * (t - 1) }, (_, i) => Math.floor(i / (t - 1)) * t + 1 + (i % (t - 1)));
        rows?.release();
        rows = ctx.upload(patchRows, [patchRows.length], 'fisher.patch_rows');
      }
      const dz = ctx.empty([batch, t - 1, d], 'fisher.dpatches');
      gatherRows(ctx, dTokens, rows, d, dz);
      dTokens.release();
      tokens?.release();
      tokens = null;
      return dz;
    },
    release(): void {
      inner.release();
      tokens?.release();
      rows?.release();
      tokens = null;
      rows = null;
    },
  };
}
