/** float64 reference of attention-bias: scores[i] + bias[i mod bias.length]. */
export function attentionBiasRef(scores: Float32Array, bias: Float32Array): Float64Array {
  return Float64Array.from(scores, (v, i) => v + bias[i % bias.length]!);
}
