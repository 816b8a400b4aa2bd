/**
 * Swin's token geometry as index maps for `token-gather`, and each block's attention bias, computed
 * on the host once per model. timm stores neither the relative position index nor the shifted
 * windows' mask, so both are recomputed here as timm's constructor builds them. Pure.
 */
import { ZERO_ROW } from '../ops/token-gather.js';
import type { SwinWindowing } from './swin-config.js';

/**
 * Window rows from grid tokens: row (window, position) of the windowed tensor comes from the token
 * that timm's roll by -shift, zero padding to whole windows and window_partition put there.
 */
export function windowPartitionMap(resolution: number, g: SwinWindowing): Uint32Array {
  const { window: w, shift, padded } = g;
  const perSide = padded / w;
  const map = new Uint32Array(g.numWindows * w * w);
  for (let wh = 0; wh < perSide; wh++) {
    for (let ww = 0; ww < perSide; ww++) {
      for (let ih = 0; ih < w; ih++) {
        for (let iw = 0; iw < w; iw++) {
          const h = wh * w + ih;
          const c = ww * w + iw;
          const row = ((wh * perSide + ww) * w + ih) * w + iw;
          map[row] = h >= resolution || c >= resolution ? ZERO_ROW : ((h + shift) % resolution) * resolution + ((c + shift) % resolution);
        }
      }
    }
  }
  return map;
}

/** Grid tokens from window rows: window_reverse, the crop of the padding and the roll back by +shift. */
export function windowMergeMap(resolution: number, g: SwinWindowing): Uint32Array {
  const { window: w, shift, padded } = g;
  const perSide = padded / w;
  const map = new Uint32Array(resolution * resolution);
  for (let y = 0; y < resolution; y++) {
    for (let x = 0; x < resolution; x++) {
      // Token (y, x) sat at (y - shift, x - shift) of the shifted grid.
      const h = (y - shift + resolution) % resolution;
      const c = (x - shift + resolution) % resolution;
      map[y * resolution + x] = ((Math.floor(h / w) * perSide + Math.floor(c / w)) * w + (h % w)) * w + (c % w);
    }
  }
  return map;
}

/**
 * The gather that undoes `map` on an injective map: row r of a source of `rows` rows per image
 * comes back from the output row that took it (ZERO_ROW where none did). Gathering a gradient
 * through it is the gather's backward: patch merging's, for the Fisher tails.
 */
export function inverseTokenMap(map: Uint32Array, rows: number): Uint32Array {
  const inverse = new Uint32Array(rows).fill(ZERO_ROW);
  map.forEach((src, r) => {
    if (src === ZERO_ROW) return;
    if (src >= rows) throw new Error(`inverseTokenMap: row ${src} outside ${rows} rows`);
    if (inverse[src] !== ZERO_ROW) throw new Error(`inverseTokenMap: row ${src} is gathered twice`);
    inverse[src] = r;
  });
  return inverse;
}

/**
 * Patch merging's gather: output token (y, x) of the halved grid is the four rows (2y, 2x),
 * (2y+1, 2x), (2y, 2x+1), (2y+1, 2x+1) side by side, timm's reshape(B, H/2, 2, W/2, 2, C)
 * .permute(0, 1, 3, 4, 2, 5) order.
 */
export function patchMergeMap(resolution: number): Uint32Array {
  const half = resolution / 2;
  const map = new Uint32Array(half * half * 4);
  for (let y = 0; y < half; y++) {
    for (let x = 0; x < half; x++) {
      for (let k = 0; k < 4; k++) {
        const dy = k % 2;
        const dx = Math.floor(k / 2);
        map[(y * half + x) * 4 + k] = (2 * y + dy) * resolution + 2 * x + dx;
      }
    }
  }
  return map;
}

/** timm's get_relative_position_index: entry (i, j) of the N x N window positions into the (2w-1)² table. */
export function relativePositionIndex(w: number): Uint32Array {
  const n = w * w;
  const index = new Uint32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const dy = Math.floor(i / w) - Math.floor(j / w) + w - 1;
      const dx = (i % w) - (j % w) + w - 1;
      index[i * n + j] = dy * (2 * w - 1) + dx;
    }
  }
  return index;
}

/**
 * The region of each window position in a shifted block (timm's img_mask: three slices per axis of
 * the padded grid, numbered row-major), [numWindows, N]. Tokens of different regions do not attend.
 */
export function shiftedWindowRegions(g: SwinWindowing): Uint32Array {
  const { window: w, shift, padded } = g;
  const band = (v: number) => (v < padded - w ? 0 : v < padded - shift ? 1 : 2);
  const perSide = padded / w;
  const regions = new Uint32Array(g.numWindows * w * w);
  for (let win = 0; win < g.numWindows; win++) {
    for (let i = 0; i < w * w; i++) {
      const h = Math.floor(win / perSide) * w + Math.floor(i / w);
      const c = (win % perSide) * w + (i % w);
      regions[win * w * w + i] = band(h) * 3 + band(c);
    }
  }
  return regions;
}

/** timm's fill value between tokens of different regions of a shifted window. */
export const SHIFT_MASK_VALUE = -100;

/**
 * What a block adds to its attention scores: bias[win, head, i, j] = table[index(i, j), head], plus
 * -100 where i and j lie in different regions of a shifted window. One window's worth when the
 * block does not shift (the bias is the same in every window), else [numWindows, heads, N, N].
 * `table` is the checkpoint's relative_position_bias_table [(2w-1)², heads].
 */
export function swinAttentionBias(table: Float32Array, heads: number, g: SwinWindowing): Float32Array {
  const n = g.window * g.window;
  const index = relativePositionIndex(g.window);
  const windows = g.shift > 0 ? g.numWindows : 1;
  const regions = g.shift > 0 ? shiftedWindowRegions(g) : null;
  const bias = new Float32Array(windows * heads * n * n);
  for (let win = 0; win < windows; win++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const masked = regions !== null && regions[win * n + i] !== regions[win * n + j];
          bias[((win * heads + h) * n + i) * n + j] = table[index[i * n + j]! * heads + h]! + (masked ? SHIFT_MASK_VALUE : 0);
        }
      }
    }
  }
  return bias;
}
