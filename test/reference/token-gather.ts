/** float64 reference of token-gather: out[b, r, :] = src[b, map[r], :], zeros for the ZERO_ROW entry. */
export function tokenGatherRef(src: Float32Array, map: Uint32Array, batch: number, cols: number): Float64Array {
  const srcRows = src.length / (batch * cols);
  const out = new Float64Array(batch * map.length * cols);
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < map.length; r++) {
      if (map[r] === 0xffffffff) continue;
      for (let c = 0; c < cols; c++) out[(b * map.length + r) * cols + c] = src[(b * srcRows + map[r]!) * cols + c]!;
    }
  }
  return out;
}
