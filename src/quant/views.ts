/**
 * The quantizer granularities of the method (../shared/docs/fimaq-method.md §3.3) as index views
 * for the fake-quant kernel and the integer pipeline.
 */
import type { QuantView } from '../ops/fake-quant.js';
import { wordsFor, type CodeLayout } from '../ops/quantize-codes.js';

/** Weights [out, in]: one scale and zero-point per output channel (row). */
export function perOutputChannel(outFeatures: number, inFeatures: number): QuantView {
  return { sizes: [outFeatures, inFeatures, 1, 1], offset: 0, address: [inFeatures, 1, 0, 0], scale: [1, 0, 0, 0], zeroPoint: [1, 0, 0, 0] };
}

/** Linear inputs [B, T, D]: a scale per token position, one zero-point for the tensor. */
export function perToken(batch: number, tokens: number, dim: number): QuantView {
  return { sizes: [batch, tokens, dim, 1], offset: 0, address: [tokens * dim, dim, 1, 0], scale: [0, 1, 0, 0], zeroPoint: [0, 0, 0, 0] };
}

/** 2-D inputs [B, D] (the head): one scale and zero-point for the tensor. */
export function perTensor(count: number): QuantView {
  return { sizes: [count, 1, 1, 1], offset: 0, address: [1, 0, 0, 0], scale: [0, 0, 0, 0], zeroPoint: [0, 0, 0, 0] };
}

/**
 * q or k inside the fused qkv tensor [B, T, 3D] (part 0 or 1): scale per head x token [H, T],
 * zero-point per head [H].
 */
export function qkvPerHeadToken(batch: number, tokens: number, heads: number, headDim: number, part: 0 | 1): QuantView {
  const dim = heads * headDim;
  return {
    sizes: [batch, tokens, heads, headDim],
    offset: part * dim,
    address: [tokens * 3 * dim, 3 * dim, headDim, 1],
    scale: [0, 1, tokens, 0],
    zeroPoint: [0, 0, 1, 0],
  };
}

/** v inside the fused qkv tensor (part 2): scale per head x channel [H, hd], zero-point per head [H]. */
export function qkvPerHeadChannel(batch: number, tokens: number, heads: number, headDim: number): QuantView {
  const dim = heads * headDim;
  return {
    sizes: [batch, tokens, heads, headDim],
    offset: 2 * dim,
    address: [tokens * 3 * dim, 3 * dim, headDim, 1],
    scale: [0, 0, headDim, 1],
    zeroPoint: [0, 0, 1, 0],
  };
}

/** Post-softmax attention [B, H, T, T]: scale per head x query row [H, T], zero-point per head [H]. */
export function attentionPerHeadRow(batch: number, heads: number, tokens: number): QuantView {
  return {
    sizes: [batch, heads, tokens, tokens],
    offset: 0,
    address: [heads * tokens * tokens, tokens * tokens, tokens, 1],
    scale: [0, tokens, 1, 0],
    zeroPoint: [0, 1, 0, 0],
  };
}

// ---- packed code layouts for the integer pipeline (quantize-codes) --------------------------------
// Each puts the reduction axis of the consuming integer matmul at view axis 3, the packing axis, and
// gives the dense u32 layout of the codes, ceil(n/4) words per packed row. Scale and zero-point
// indices are those of the fake-quant views above (the quantized-model file's shapes).

/** Dense strides of packed rows of `words` words for a view's leading sizes [n0, n1, n2]. */
function packedStrides(n1: number, n2: number, words: number): [number, number, number] {
  return [n1 * n2 * words, n2 * words, words];
}

/** Linear inputs [B, T, D] packed along D into [B, T, ceil(D/4)]: scale per token [T], zero-point [1]. */
export function packedPerToken(batch: number, tokens: number, dim: number): CodeLayout {
  const words = wordsFor(dim);
  return {
    view: { sizes: [batch, tokens, 1, dim], offset: 0, address: [tokens * dim, dim, 0, 1], scale: [0, 1, 0, 0], zeroPoint: [0, 0, 0, 0] },
    shape: [batch, tokens, words],
    strides: packedStrides(tokens, 1, words),
  };
}

/** The head input [B, D] packed along D into [B, ceil(D/4)]: one scale and zero-point. */
export function packedPerTensor(batch: number, dim: number): CodeLayout {
  const words = wordsFor(dim);
  return {
    view: { sizes: [batch, 1, 1, dim], offset: 0, address: [dim, 0, 0, 1], scale: [0, 0, 0, 0], zeroPoint: [0, 0, 0, 0] },
    shape: [batch, words],
    strides: packedStrides(1, 1, words),
  };
}

/**
 * q (part 0) or k (part 1) read from the fused qkv tensor [B, T, 3D] into [B, H, T, ceil(hd/4)],
 * packed along the head channel: scale per head x token [H, T], zero-point per head [H].
 */
export function packedQkvPerHeadToken(batch: number, tokens: number, heads: number, headDim: number, part: 0 | 1): CodeLayout {
  const dim = heads * headDim;
  const words = wordsFor(headDim);
  return {
    view: {
      sizes: [batch, heads, tokens, headDim],
      offset: part * dim,
      address: [tokens * 3 * dim, headDim, 3 * dim, 1],
      scale: [0, tokens, 1, 0],
      zeroPoint: [0, 1, 0, 0],
    },
    shape: [batch, heads, tokens, words],
    strides: packedStrides(heads, tokens, words),
  };
}

/**
 * v (part 2) read from the fused qkv tensor [B, T, 3D] into the transposed [B, H, hd, ceil(T/4)],
 * packed along tokens (the reduction axis of attn·v): scale per head x channel [H, hd],
 * zero-point per head [H].
 */
export function packedQkvPerHeadChannelTransposed(batch: number, tokens: number, heads: number, headDim: number): CodeLayout {
  const dim = heads * headDim;
  const words = wordsFor(tokens);
  return {
    view: {
      sizes: [batch, heads, headDim, tokens],
      offset: 2 * dim,
      address: [tokens * 3 * dim, headDim, 1, 3 * dim],
      scale: [0, headDim, 1, 0],
      zeroPoint: [0, 1, 0, 0],
    },
    shape: [batch, heads, headDim, words],
    strides: packedStrides(heads, headDim, words),
  };
}

/** The post-softmax map [B, H, T, T] packed along keys into [B, H, T, ceil(T/4)]: scale per head x row [H, T], zero-point per head [H]. */
export function packedAttentionPerHeadRow(batch: number, heads: number, tokens: number): CodeLayout {
  const words = wordsFor(tokens);
  return {
    view: {
      sizes: [batch, heads, tokens, tokens],
      offset: 0,
      address: [heads * tokens * tokens, tokens * tokens, tokens, 1],
      scale: [0, tokens, 1, 0],
      zeroPoint: [0, 1, 0, 0],
    },
    shape: [batch, heads, tokens, words],
    strides: packedStrides(heads, tokens, words),
  };
}
