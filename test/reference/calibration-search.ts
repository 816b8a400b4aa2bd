/**
 * Float64 reference of the calibration search (../shared/docs/fimaq-method.md §4): plain loops
 * over every candidate, for checking that the GPU search picks the same candidates step by step.
 * Candidate tables come from src/quant/candidates.ts (the search's input, tested on their own);
 * quantization goes through fakeQuantValue, which divides in float32 as the GPU kernel does.
 *
 * Losses follow the official reductions: squared error, averaged over tokens (and over output
 * channels where one candidate serves them all), summed over samples. Ties: the lowest index wins,
 * so the duplicate last activation candidate (index 128) never wins, as in the official code,
 * which does not search it at all.
 */
import { activationCandidates, convWeightCandidates, linearWeightCandidates, matmulBoundCandidates, type BoundCandidates, type GridCandidates } from '../../src/quant/candidates.js';
import type { QuantView } from '../../src/ops/fake-quant.js';
import { fakeQuantValue, roundHalfEven } from './fake-quant.js';

/** The candidate index with the smallest loss; a later candidate must be strictly better to win. */
function argmin(count: number, loss: (c: number) => number): { index: number; loss: number } {
  let index = 0;
  let best = loss(0);
  for (let c = 1; c < count; c++) {
    const l = loss(c);
    if (l < best) {
      best = l;
      index = c;
    }
  }
  return { index, loss: best };
}

function quantize(values: ArrayLike<number>, s: number, z: number, bits: number): Float64Array {
  return Float64Array.from(values, (v) => fakeQuantValue(v, s, z, bits));
}

/** y[n, o] = x[n] · w[o] + bias[o] in float64. */
function linear(x: ArrayLike<number>, w: ArrayLike<number>, bias: ArrayLike<number> | null, rows: number, K: number, O: number): Float64Array {
  const y = new Float64Array(rows * O);
  for (let n = 0; n < rows; n++)
    for (let o = 0; o < O; o++) {
      let acc = bias ? bias[o] : 0;
      for (let k = 0; k < K; k++) acc += x[n * K + k] * w[o * K + k];
      y[n * O + o] = acc;
    }
  return y;
}

/** Σ over samples of the mean over the sample's `perSample` rows of (y[row, col] - yHat[row])², y being [rows, cols]. */
function columnLoss(y: Float64Array, cols: number, col: number, yHat: Float64Array, perSample: number): number {
  let total = 0;
  for (let s = 0; s < yHat.length / perSample; s++) {
    let sum = 0;
    for (let t = 0; t < perSample; t++) {
      const row = s * perSample + t;
      sum += (y[row * cols + col] - yHat[row]) ** 2;
    }
    total += sum / perSample;
  }
  return total;
}

/** Σ over samples of the mean over the sample's rows and all columns of (a - b)². */
function tensorLoss(a: ArrayLike<number>, b: ArrayLike<number>, samples: number): number {
  const per = a.length / samples;
  let total = 0;
  for (let s = 0; s < samples; s++) {
    let sum = 0;
    for (let i = s * per; i < (s + 1) * per; i++) sum += (a[i] - b[i]) ** 2;
    total += sum / per;
  }
  return total;
}

export interface LinearRound {
  /** Per output row: the weight candidate with the smallest layer-output error, and that error. */
  weight: Int32Array;
  weightLoss: Float64Array;
  /** The activation candidate with the smallest layer-output error (mean over output channels). */
  activation: number;
  activationLoss: number;
}

export interface LinearSearchResult {
  weightCandidates: GridCandidates;
  activationCandidates: GridCandidates;
  /** Step 1: per row, the candidate with the smallest weight MSE. */
  weightSelf: Int32Array;
  /** Step 2: the candidate with the smallest input MSE. */
  activationSelf: number;
  rounds: LinearRound[];
  /** The final choice, per row and per tensor. */
  weightScale: Float32Array;
  weightZeroPoint: Float32Array;
  activationScale: number;
  activationZeroPoint: number;
}

/**
 * §4.1 for a Linear: x [N, K] with N = samples·tokensPerSample rows, w [O, K], bias [O] or null.
 * (1) weight MSE per row, (2) input MSE, then `rounds` times (3a) per row the layer-output error
 * with the input quantized, (3b) the layer-output error with the weights quantized.
 */
export function searchLinear(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | null,
  inFeatures: number,
  tokensPerSample: number,
  wbits: number,
  abits: number,
  rounds = 3,
): LinearSearchResult {
  const K = inFeatures;
  const O = w.length / K;
  const N = x.length / K;
  if (!Number.isInteger(O) || !Number.isInteger(N) || N % tokensPerSample !== 0) throw new Error(`searchLinear: bad shapes (${x.length}, ${w.length}, K ${K}, T ${tokensPerSample})`);
  const samples = N / tokensPerSample;
  const wc = linearWeightCandidates(w, O, K, wbits);
  const ac = activationCandidates(x, abits);
  const y = linear(x, w, bias, N, K, O);

  const weightRow = (o: number, c: number): Float64Array =>
    quantize(w.subarray(o * K, (o + 1) * K), wc.scale[o * wc.count + c], wc.zeroPoint[o * wc.count + c], wbits);
  const input = (c: number): Float64Array => quantize(x, ac.scale[c], ac.zeroPoint[c], abits);

  // Step 1: weight MSE, the mean over the row.
  const weightSelf = Int32Array.from({ length: O }, (_, o) =>
    argmin(wc.count, (c) => {
      const q = weightRow(o, c);
      let sum = 0;
      for (let k = 0; k < K; k++) sum += (q[k] - w[o * K + k]) ** 2;
      return sum / K;
    }).index,
  );
  // Step 2: input MSE.
  const activationSelf = argmin(ac.count, (c) => tensorLoss(input(c), x, samples)).index;

  const chosenW = Int32Array.from(weightSelf);
  let chosenA = activationSelf;
  const history: LinearRound[] = [];
  for (let round = 0; round < rounds; round++) {
    const xq = input(chosenA);
    const weight = new Int32Array(O);
    const weightLoss = new Float64Array(O);
    for (let o = 0; o < O; o++) {
      const best = argmin(wc.count, (c) => columnLoss(y, O, o, linear(xq, weightRow(o, c), bias ? [bias[o]] : null, N, K, 1), tokensPerSample));
      weight[o] = best.index;
      weightLoss[o] = best.loss;
    }
    chosenW.set(weight);
    const wq = new Float64Array(O * K);
    for (let o = 0; o < O; o++) wq.set(weightRow(o, chosenW[o]), o * K);
    // One candidate serves all output channels: the official code averages over them (a sum would pick the same).
    const act = argmin(ac.count, (c) => tensorLoss(y, linear(input(c), wq, bias, N, K, O), samples));
    chosenA = act.index;
    history.push({ weight, weightLoss, activation: act.index, activationLoss: act.loss });
  }
  return {
    weightCandidates: wc,
    activationCandidates: ac,
    weightSelf,
    activationSelf,
    rounds: history,
    weightScale: Float32Array.from(chosenW, (c, o) => wc.scale[o * wc.count + c]),
    weightZeroPoint: Float32Array.from(chosenW, (c, o) => wc.zeroPoint[o * wc.count + c]),
    activationScale: ac.scale[chosenA],
    activationZeroPoint: ac.zeroPoint[chosenA],
  };
}

/**
 * s = (u - l)/(2^b - 1) and z = -round(l/s) in float32 arithmetic, as the GPU refines them from the
 * stored float32 bounds (scale clamped to float32(1e-8), as the candidate tables are).
 */
function boundsQuant(u: number, l: number, bits: number): { s: number; z: number } {
  const s = Math.max(Math.fround(Math.fround(u - l) / (2 ** bits - 1)), Math.fround(1e-8));
  return { s, z: -roundHalfEven(Math.fround(l / s)) + 0 }; // + 0: no -0
}

/** A step of a bound search: which bound moved (or both, `pair`), the index chosen and the loss, per group. */
export interface BoundStep {
  operand: 'a' | 'b' | 'w';
  bound: 'pair' | 'lower' | 'upper';
  index: Int32Array;
  loss: Float64Array;
}

/** The final bound indices of one quantizer per group, with the scale and zero-point they give. */
export interface BoundChoice {
  upper: Int32Array;
  lower: Int32Array;
  scale: Float32Array;
  zeroPoint: Float32Array;
}

function finalChoice(cand: BoundCandidates, upper: Int32Array, lower: Int32Array, bits: number): BoundChoice {
  const q = Array.from(upper, (u, g) => boundsQuant(cand.upper[g * cand.count + u], cand.lower[g * cand.count + lower[g]], bits));
  return { upper, lower, scale: Float32Array.from(q, (p) => p.s), zeroPoint: Float32Array.from(q, (p) => p.z) };
}

/**
 * One step of a bound search for every group: `pair` tries candidate t = (upper_t, lower_t);
 * `lower` keeps the group's upper index and tries every lower bound; `upper` the reverse.
 */
function boundStep(
  cand: BoundCandidates,
  bits: number,
  upper: Int32Array,
  lower: Int32Array,
  operand: BoundStep['operand'],
  bound: BoundStep['bound'],
  loss: (g: number, s: number, z: number) => number,
): BoundStep {
  const groups = upper.length;
  const index = new Int32Array(groups);
  const losses = new Float64Array(groups);
  for (let g = 0; g < groups; g++) {
    const at = g * cand.count;
    const best = argmin(cand.count, (c) => {
      const u = cand.upper[at + (bound === 'lower' ? upper[g] : c)];
      const l = cand.lower[at + (bound === 'upper' ? lower[g] : c)];
      const { s, z } = boundsQuant(u, l, bits);
      return loss(g, s, z);
    });
    index[g] = best.index;
    losses[g] = best.loss;
    if (bound !== 'lower') upper[g] = best.index;
    if (bound !== 'upper') lower[g] = best.index;
  }
  return { operand, bound, index, loss: losses };
}

export interface MatmulShape {
  /** Samples per head. */
  batch: number;
  /** A is [batch, m, k] and B is [batch, k, n] per head. */
  m: number;
  k: number;
  n: number;
}

export interface MatmulSearchResult {
  a: BoundCandidates & { startIndex: number };
  b: BoundCandidates & { startIndex: number };
  /** Per head, the error with both operands at the start index. */
  startLoss: Float64Array;
  /** In order: A pair, B pair, then per round A lower, A upper, B lower, B upper. */
  steps: BoundStep[];
  finalA: BoundChoice;
  finalB: BoundChoice;
}

/**
 * §4.2 for a per-head A@B: a[h] is head h's A [batch, m, k] and b[h] its B [batch, k, n] (the
 * caller slices q, kᵀ, the attention map or v). The error is Σ over samples of the mean over
 * the product's m·n entries of (Â@B̂ - A@B)², per head.
 */
export function searchMatmulPair(a: Float32Array[], b: Float32Array[], shape: MatmulShape, bits: number, rounds = 3, count = 129): MatmulSearchResult {
  const heads = a.length;
  const { batch, m, k, n } = shape;
  if (b.length !== heads || a.some((h) => h.length !== batch * m * k) || b.some((h) => h.length !== batch * k * n)) throw new Error('searchMatmulPair: bad shapes');
  const byHead = (parts: Float32Array[]): { x: Float32Array; view: QuantView } => {
    const per = parts[0].length;
    const x = new Float32Array(heads * per);
    parts.forEach((p, h) => x.set(p, h * per));
    return { x, view: { sizes: [heads, per, 1, 1], offset: 0, address: [per, 1, 0, 0], scale: [0, 0, 0, 0], zeroPoint: [1, 0, 0, 0] } };
  };
  const ca = byHead(a);
  const cb = byHead(b);
  const candA = matmulBoundCandidates(ca.x, ca.view, heads, bits, count);
  const candB = matmulBoundCandidates(cb.x, cb.view, heads, bits, count);

  const product = (pa: ArrayLike<number>, pb: ArrayLike<number>): Float64Array => {
    const c = new Float64Array(batch * m * n);
    for (let s = 0; s < batch; s++)
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let acc = 0;
          for (let t = 0; t < k; t++) acc += pa[(s * m + i) * k + t] * pb[(s * k + t) * n + j];
          c[(s * m + i) * n + j] = acc;
        }
    return c;
  };
  const exact = a.map((ah, h) => product(ah, b[h]));
  const state = {
    a: { upper: new Int32Array(heads).fill(candA.startIndex), lower: new Int32Array(heads).fill(candA.startIndex) },
    b: { upper: new Int32Array(heads).fill(candB.startIndex), lower: new Int32Array(heads).fill(candB.startIndex) },
  };
  const current = (operand: 'a' | 'b', h: number): Float64Array => {
    const cand = operand === 'a' ? candA : candB;
    const { s, z } = boundsQuant(cand.upper[h * count + state[operand].upper[h]], cand.lower[h * count + state[operand].lower[h]], bits);
    return quantize((operand === 'a' ? a : b)[h], s, z, bits);
  };
  const startLoss = Float64Array.from(exact, (e, h) => tensorLoss(product(current('a', h), current('b', h)), e, batch));

  const search = (operand: 'a' | 'b', bound: BoundStep['bound']): BoundStep => {
    const cand = operand === 'a' ? candA : candB;
    const other = Array.from({ length: heads }, (_, h) => current(operand === 'a' ? 'b' : 'a', h));
    return boundStep(cand, bits, state[operand].upper, state[operand].lower, operand, bound, (h, s, z) => {
      const q = quantize((operand === 'a' ? a : b)[h], s, z, bits);
      return tensorLoss(operand === 'a' ? product(q, other[h]) : product(other[h], q), exact[h], batch);
    });
  };
  const steps = [search('a', 'pair'), search('b', 'pair')];
  for (let round = 0; round < rounds; round++) {
    for (const operand of ['a', 'b'] as const) steps.push(search(operand, 'lower'), search(operand, 'upper'));
  }
  return {
    a: candA,
    b: candB,
    startLoss,
    steps,
    finalA: finalChoice(candA, state.a.upper, state.a.lower, bits),
    finalB: finalChoice(candB, state.b.upper, state.b.lower, bits),
  };
}

export interface ConvSearchResult {
  candidates: BoundCandidates;
  /** The pair search, then per round the lower and the upper refinement. */
  steps: BoundStep[];
  final: BoundChoice;
}

/**
 * §4.3 for the patch-embed conv as a matmul: w [O, K] (one row per output channel), patches
 * [N, K] from im2col with N = samples·patchesPerSample, bias [O] or null. The input is not
 * quantized. Per channel: the candidate pair with the smallest conv-output error, then `rounds`
 * times the lower bound with the upper fixed and the upper bound with the lower fixed.
 */
export function searchConv(
  w: Float32Array,
  patches: Float32Array,
  bias: Float32Array | null,
  inFeatures: number,
  patchesPerSample: number,
  bits: number,
  rounds = 3,
): ConvSearchResult {
  const K = inFeatures;
  const O = w.length / K;
  const N = patches.length / K;
  if (!Number.isInteger(O) || !Number.isInteger(N) || N % patchesPerSample !== 0) throw new Error(`searchConv: bad shapes (${w.length}, ${patches.length}, K ${K})`);
  const cand = convWeightCandidates(w, O, K, bits);
  const y = linear(patches, w, bias, N, K, O);
  const upper = new Int32Array(O);
  const lower = new Int32Array(O);
  const loss = (o: number, s: number, z: number): number =>
    columnLoss(y, O, o, linear(patches, quantize(w.subarray(o * K, (o + 1) * K), s, z, bits), bias ? [bias[o]] : null, N, K, 1), patchesPerSample);
  const steps = [boundStep(cand, bits, upper, lower, 'w', 'pair', loss)];
  for (let round = 0; round < rounds; round++) steps.push(boundStep(cand, bits, upper, lower, 'w', 'lower', loss), boundStep(cand, bits, upper, lower, 'w', 'upper', loss));
  return { candidates: cand, steps, final: finalChoice(cand, upper, lower, bits) };
}
