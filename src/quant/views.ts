/**
 * The quantizer granularities of the method (../shared/docs/fimaq-method.md §3.3) as index views
 * for the fake-quant kernel and the integer pipeline.
 */
import type { QuantView } from '../ops/fake-quant.js';

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
