/**
 * Candidate tables of the calibration search (../shared/docs/fimaq-method.md §4), as flat typed
 * arrays ready for upload: group g's candidates sit at [g*count, (g+1)*count), where a group is a
 * weight row, an activation channel, a head, or the whole tensor.
 *
 * Values are computed in float64 from exact quantiles (quantile.ts) and rounded to float32 once,
 * when stored; scale/zero-point pairs derived from bounds mirror float32 arithmetic exactly (see
 * scaleZeroFromBounds), because the GPU search recomputes them from bounds during refinement.
 */
import type { QuantView } from '../ops/fake-quant.js';
import { checkBits } from '../util/pack.js';
import { perColumnQuantiles, perRowQuantiles, quantile, quantiles, sortedCopy } from './quantile.js';

/** torch.round and WGSL round(): ties go to the even neighbour. */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** A (scale, zero-point) grid per group (§4.1). */
export interface GridCandidates {
  /** Candidates per group. */
  count: number;
  numScale: number;
  numZeroPoint: number;
  /** [groups * count] */
  scale: Float32Array;
  /** [groups * count], integers */
  zeroPoint: Float32Array;
}

/** Candidates built from a lower and an upper bound per candidate (§4.2, §4.3). */
export interface BoundCandidates {
  /** Candidates per group. */
  count: number;
  /** [groups * count]: the quantiles the search refines separately. */
  upper: Float32Array;
  lower: Float32Array;
  /** [groups * count]: scaleZeroFromBounds(upper, lower). */
  scale: Float32Array;
  zeroPoint: Float32Array;
}

/** Linear weights and activations: the 10/90 % range is the narrowest scale, min/max the widest. */
const RANGE_LEVELS = [0.1, 0.9, 0, 1];
/**
 * Weight scales are clamped because a constant row has a zero range, and x/0 would poison the
 * search with NaN; the official code has no clamp (it would produce NaN on such a row).
 */
export const MIN_WEIGHT_SCALE = 1e-8;
/** The official activation candidates are clamped to this. */
export const MIN_ACTIVATION_SCALE = 1e-4;
/** Bound-derived scales get the weight clamp, for the same reason (a head or row with one value). */
const MIN_BOUND_SCALE = Math.fround(MIN_WEIGHT_SCALE);

/**
 * An empty table for `groups` groups. The official activation tables end with a copy of their
 * last candidate (index eqN, never searched there); `duplicate` keeps it so indices line up.
 */
/** Zero-points per scale in a grid table of `bits`: a table's size must be a multiple of it. */
export const zeroPointCount = (bits: number): number => Math.min(16, 2 ** bits);

function newGrid(groups: number, bits: number, eqN: number, duplicate: boolean): GridCandidates {
  const numZeroPoint = zeroPointCount(bits);
  const numScale = eqN / numZeroPoint;
  // The official code floors eqN / num_zp; we refuse a remainder instead, which it could not search anyway.
  if (!Number.isInteger(numScale) || numScale < 1) throw new Error(`candidates: eqN ${eqN} is not a positive multiple of ${numZeroPoint} zero-points`);
  const count = numScale * numZeroPoint + (duplicate ? 1 : 0);
  return { count, numScale, numZeroPoint, scale: new Float32Array(groups * count), zeroPoint: new Float32Array(groups * count) };
}

/**
 * Writes group g's grid: scales linspace(deltaMin, deltaMax, numScale)/(2^b - 1) crossed with the
 * zero-points 2^(b-1) - numZeroPoint/2 + zi. The order is the official one (linear.py: scales
 * `.repeat`, zero-points `.repeat_interleave`): candidate c = zi·numScale + si, zero-point-major,
 * so candidate indices, and which candidate wins a tie, match the official code.
 */
function writeGrid(out: GridCandidates, g: number, deltaMin: number, deltaMax: number, bits: number, minScale: number): void {
  const { count, numScale, numZeroPoint } = out;
  const firstZeroPoint = 2 ** (bits - 1) - numZeroPoint / 2;
  const at = g * count;
  for (let zi = 0; zi < numZeroPoint; zi++) {
    for (let si = 0; si < numScale; si++) {
      // linspace as the official code writes it: deltaMin + t·(deltaMax - deltaMin), t in [0, 1].
      const t = numScale === 1 ? 0 : si / (numScale - 1);
      out.scale[at + zi * numScale + si] = Math.max((deltaMin + t * (deltaMax - deltaMin)) / (2 ** bits - 1), minScale);
      out.zeroPoint[at + zi * numScale + si] = firstZeroPoint + zi;
    }
  }
  if (count > numScale * numZeroPoint) {
    out.scale[at + count - 1] = out.scale[at + count - 2];
    out.zeroPoint[at + count - 1] = out.zeroPoint[at + count - 2];
  }
}

/**
 * §4.1 weight candidates for a Linear weight [rows, cols]: per row, scales linspace(q0.9 - q0.1,
 * max - min, numScale) / (2^b - 1) crossed with the integer zero-points. eqN = 128 gives 128
 * (the official table also ends with a duplicate, which its search never reaches; left out here).
 */
export function linearWeightCandidates(w: Float32Array, rows: number, cols: number, bits: number, eqN = 128): GridCandidates {
  checkBits(bits, 'linearWeightCandidates');
  const out = newGrid(rows, bits, eqN, false);
  const q = perRowQuantiles(w, rows, cols, RANGE_LEVELS);
  for (let r = 0; r < rows; r++) {
    const [q10, q90, min, max] = q.subarray(r * 4, r * 4 + 4);
    writeGrid(out, r, q90 - q10, max - min, bits, MIN_WEIGHT_SCALE);
  }
  return out;
}

/**
 * §4.1 activation candidates from the per-tensor quantiles of the whole calibration input,
 * scales clamped to >= 1e-4, plus the official duplicate of the last candidate: 129 at eqN 128.
 */
export function activationCandidates(x: Float32Array, bits: number, eqN = 128): GridCandidates {
  checkBits(bits, 'activationCandidates');
  const out = newGrid(1, bits, eqN, true);
  const [q10, q90, min, max] = quantiles(x, RANGE_LEVELS);
  writeGrid(out, 0, q90 - q10, max - min, bits, MIN_ACTIVATION_SCALE);
  return out;
}

/**
 * RepQ-ViT's per-channel pre-calibration (§4.4 step 1): the activation construction per channel
 * of x [rows, channels] (rows = samples·tokens), from channel-wise quantiles; 129 per channel.
 */
export function perChannelActivationCandidates(x: Float32Array, rows: number, channels: number, bits: number, eqN = 128): GridCandidates {
  checkBits(bits, 'perChannelActivationCandidates');
  const out = newGrid(channels, bits, eqN, true);
  const q = perColumnQuantiles(x, rows, channels, RANGE_LEVELS);
  for (let c = 0; c < channels; c++) {
    const [q10, q90, min, max] = q.subarray(c * 4, c * 4 + 4);
    writeGrid(out, c, q90 - q10, max - min, bits, MIN_ACTIVATION_SCALE);
  }
  return out;
}

/**
 * s = (u - l)/(2^b - 1), z = -round(l/s), evaluated as float32 arithmetic would (each operation
 * rounded to float32, ties-to-even round), so that a shader recomputing it from the stored
 * float32 bounds gets the same bits. s is clamped to >= float32(1e-8) for a zero range.
 */
export function scaleZeroFromBounds(upper: number, lower: number, bits: number): { scale: number; zeroPoint: number } {
  const u = Math.fround(upper);
  const l = Math.fround(lower);
  const scale = Math.max(Math.fround(Math.fround(u - l) / (2 ** bits - 1)), MIN_BOUND_SCALE);
  // `+ 0` turns -0 into 0.
  return { scale, zeroPoint: -roundHalfEven(Math.fround(l / scale)) + 0 };
}

function boundCandidates(groups: number, count: number): BoundCandidates {
  const n = groups * count;
  return { count, upper: new Float32Array(n), lower: new Float32Array(n), scale: new Float32Array(n), zeroPoint: new Float32Array(n) };
}

function writeBounds(out: BoundCandidates, i: number, upper: number, lower: number, bits: number): void {
  out.upper[i] = upper;
  out.lower[i] = lower;
  const { scale, zeroPoint } = scaleZeroFromBounds(out.upper[i], out.lower[i], bits);
  out.scale[i] = scale;
  out.zeroPoint[i] = zeroPoint;
}

/**
 * The quantile levels of the §4.2 matmul candidates. "129 linearly spaced points" are read as
 * quantile levels: upper_t at linspace(0.99, 0.99999, n)[t], lower_t at linspace(0.00001, 0.01, n)[t],
 * both ascending in t as §4.2 lists them, so t = 0 pairs the narrowest upper with the widest lower.
 * (Taken from §4.2; the official matmul.py at the cited HEAD was not available to check the pairing.)
 */
export function matmulBoundLevels(n: number): { upper: Float64Array; lower: Float64Array } {
  if (!Number.isInteger(n) || n < 2) throw new Error(`matmulBoundLevels: need at least 2 candidates, got ${n}`);
  const upper = new Float64Array(n);
  const lower = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    upper[t] = 0.99 + ((0.99999 - 0.99) * t) / (n - 1);
    lower[t] = 0.00001 + ((0.01 - 0.00001) * t) / (n - 1);
  }
  return { upper, lower };
}

/**
 * Splits the elements a quantizer view covers by their zero-point index. Every matmul operand
 * has one zero-point per head (§3.3), so with the views of views.ts (qkvPerHeadToken for q and k,
 * qkvPerHeadChannel for v, attentionPerHeadRow for the attention map) this yields each head's
 * values, e.g. q's head h = channels [h·hd, (h+1)·hd) of the q part of the fused qkv [B, T, 3D].
 */
export function valuesPerHead(x: Float32Array, view: QuantView, heads: number): Float32Array[] {
  const [n0, n1, n2, n3] = view.sizes;
  const visit = (f: (head: number, at: number) => void): void => {
    for (let i0 = 0; i0 < n0; i0++)
      for (let i1 = 0; i1 < n1; i1++)
        for (let i2 = 0; i2 < n2; i2++)
          for (let i3 = 0; i3 < n3; i3++) {
            const head = i0 * view.zeroPoint[0] + i1 * view.zeroPoint[1] + i2 * view.zeroPoint[2] + i3 * view.zeroPoint[3];
            const at = view.offset + i0 * view.address[0] + i1 * view.address[1] + i2 * view.address[2] + i3 * view.address[3];
            if (head >= heads || at >= x.length) throw new Error(`valuesPerHead: element (${i0}, ${i1}, ${i2}, ${i3}) maps to head ${head}, index ${at}, outside ${heads} heads / ${x.length} values`);
            f(head, at);
          }
  };
  const sizes = new Array<number>(heads).fill(0);
  visit((head) => sizes[head]++);
  const out = sizes.map((n) => new Float32Array(n));
  const filled = new Array<number>(heads).fill(0);
  visit((head, at) => (out[head][filled[head]++] = x[at]));
  return out;
}

/**
 * §4.2 candidates of one matmul operand per head: candidate t has upper_t and lower_t, the head's
 * quantiles at the levels of matmulBoundLevels, s = (u - l)/(2^b - 1) and z = -round(l/s).
 * `view` selects the operand inside its tensor and maps each element to its head (valuesPerHead).
 * The search starts every head at startIndex = n - 2 (the official "candidate index -2").
 */
export function matmulBoundCandidates(x: Float32Array, view: QuantView, heads: number, bits: number, n = 129): BoundCandidates & { startIndex: number } {
  checkBits(bits, 'matmulBoundCandidates');
  const levels = matmulBoundLevels(n);
  const out = boundCandidates(heads, n);
  valuesPerHead(x, view, heads).forEach((values, h) => {
    if (values.length === 0) throw new Error(`matmulBoundCandidates: head ${h} has no values`);
    const sorted = sortedCopy(values);
    for (let t = 0; t < n; t++) writeBounds(out, h * n + t, quantile(sorted, levels.upper[t]), quantile(sorted, levels.lower[t]), bits);
  });
  return { ...out, startIndex: n - 2 };
}

/**
 * §4.3 conv (patch-embed) weight candidates per output channel of w [rows, cols]: levels
 * pct_i = 0.99 + (0.9999 - 0.99)·(i/(eqN-1))^0.5 for i < eqN, then 1.0 (129 at eqN 128);
 * upper = quantile(row, pct), lower = quantile(row, 1 - pct). Note: the official search loops
 * over the first eqN candidates only, so it never tries the last (1.0, min/max) one.
 */
export function convWeightCandidates(w: Float32Array, rows: number, cols: number, bits: number, eqN = 128): BoundCandidates {
  checkBits(bits, 'convWeightCandidates');
  if (!Number.isInteger(eqN) || eqN < 2) throw new Error(`convWeightCandidates: eqN ${eqN} is too small`);
  const pct = [...Array.from({ length: eqN }, (_, i) => 0.99 + (0.9999 - 0.99) * Math.sqrt(i / (eqN - 1))), 1];
  const levels = [...pct, ...pct.map((p) => 1 - p)];
  const q = perRowQuantiles(w, rows, cols, levels);
  const count = pct.length;
  const out = boundCandidates(rows, count);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < count; i++) writeBounds(out, r * count + i, q[r * levels.length + i], q[r * levels.length + count + i], bits);
  }
  return out;
}
