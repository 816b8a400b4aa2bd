/** Reference for QDrop's element-wise mix. */
export function qdropMixRef(quantized: ArrayLike<number>, float: ArrayLike<number>, noise: ArrayLike<number>, keepProb: number): Float32Array {
  return Float32Array.from({ length: quantized.length }, (_, i) => (noise[i] < keepProb ? quantized[i] : float[i]));
}
