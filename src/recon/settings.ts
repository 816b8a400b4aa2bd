/**
 * Stage B settings (../shared/docs/fimaq-method.md §5.3-§5.4, §8) and their schedules: the rounding
 * regulariser's warm-up and beta decay, and the cosine learning rate of the activation scales.
 */
import { detCos } from '../util/det-math.js';

export interface ReconSettings {
  /** Optimisation steps per unit (official 20000). */
  iters: number;
  /** Minibatch size (official 32). */
  batch: number;
  /** Calibration images cached for reconstruction (official 1024). */
  calibSize: number;
  /** Images of the calibration search before reconstruction (official 128: the first of the set). */
  searchSize: number;
  /** Candidates per grid of the calibration search (official eq_n 128). */
  searchCandidates: number;
  /** Alternating rounds of the calibration search (official 3). */
  searchRounds: number;
  /** Adam learning rate of the AdaRound variables (official 1e-3, constant). */
  lrRound: number;
  /** Adam learning rate of the activation scales (official 4e-5, cosine-annealed to 0). */
  lrScale: number;
  /** QDrop: probability of keeping the quantized value (official 0.5; 1 disables QDrop). */
  dropProb: number;
  /** Weight of the rounding regulariser (official 0.01). */
  roundWeight: number;
  /** Share of the iterations without the regulariser (official 0.2). */
  warmup: number;
  /** Beta of the regulariser, decayed linearly from start to end after the warm-up (official 20 -> 2). */
  betaStart: number;
  betaEnd: number;
  /** Read the loss back every this many iterations, for progress only. */
  reportEvery: number;
}

export type PresetName = 'paper' | 'quick';

const PAPER: ReconSettings = {
  iters: 20000,
  batch: 32,
  calibSize: 1024,
  searchSize: 128,
  searchCandidates: 128,
  searchRounds: 3,
  lrRound: 1e-3,
  lrScale: 4e-5,
  dropProb: 0.5,
  roundWeight: 0.01,
  warmup: 0.2,
  betaStart: 20,
  betaEnd: 2,
  reportEvery: 500,
};

/**
 * Reconstructs the demo model in about four minutes on a 2-core CPU with SwiftShader: a coarser
 * calibration search on fewer images, and 1.5 % of the paper's steps on smaller batches, so both
 * learning rates are ten times the paper's.
 */
const QUICK: ReconSettings = {
  ...PAPER,
  iters: 300,
  batch: 8,
  calibSize: 256,
  searchSize: 8,
  searchCandidates: 32,
  searchRounds: 1,
  lrRound: 1e-2,
  lrScale: 4e-4,
  reportEvery: 25,
};

export const PRESETS: Record<PresetName, ReconSettings> = { paper: PAPER, quick: QUICK };

/** The regulariser's weight at 1-based step count `cnt`: off during the warm-up. */
export function roundWeightAt(s: ReconSettings, cnt: number): number {
  return cnt < s.warmup * s.iters ? 0 : s.roundWeight;
}

/** LinearTempDecay of the method's AdaRound: betaStart until the warm-up ends, then linear to betaEnd. */
export function betaAt(s: ReconSettings, cnt: number): number {
  const start = s.warmup * s.iters;
  if (cnt < start) return s.betaStart;
  const rel = (cnt - start) / (s.iters - start);
  return s.betaEnd + (s.betaStart - s.betaEnd) * Math.max(0, 1 - rel);
}

/** CosineAnnealingLR(T_max = iters, eta_min = 0) after `step` scheduler steps. */
export function scaleLrAt(s: ReconSettings, step: number): number {
  // detCos: the same bits in every JavaScript engine, so the CLI and the web app train alike.
  return (s.lrScale * (1 + detCos((Math.PI * step) / s.iters))) / 2;
}

/**
 * The QDrop threshold: the quantized value is kept where noise < threshold. The GPU noise lies in
 * (0, 1] (its largest values round up to 1 in float32), so "always quantized" compares against 2.
 */
export function keepThreshold(s: ReconSettings): number {
  return s.dropProb >= 1 ? 2 : s.dropProb;
}
