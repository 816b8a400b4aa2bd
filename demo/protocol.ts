/**
 * Messages between the page (app.ts) and the worker that runs the engine (worker.ts). The worker
 * owns the GPU, the model and the run's browser storage; the page only draws. Files travel as
 * File objects (structured clone), results as plain data and transferred bytes.
 */
import type { UnitReport } from '../src/recon/reconstruct.js';
import type { Comparison } from '../src/pipeline/compare.js';
import type { ModelInfo, SwinModelInfo } from '../src/pipeline/model-info.js';
import type { Method, PipelineProgress } from '../src/pipeline/quantize.js';
import type { AdapterSummary } from '../src/runtime/context.js';

export type ModelSource = { kind: 'demo' } | { kind: 'files'; config: File; weights: File };
/** A folder's files with their paths below the folder's parent (`<folder>/<class>/<image>`). */
export type FolderFiles = { path: string; file: File }[];
export type DataSource = { kind: 'fashion-mnist'; split: 'train' | 'test' } | { kind: 'folder'; name: string; files: FolderFiles };

/** What a person sets on the page; the worker turns it into the pipeline's request. */
export interface RunSettings {
  method: Method;
  wbits: number;
  abits: number;
  preset: 'quick' | 'paper';
  seed: number;
  /** Overrides of the preset; absent: the preset's value. */
  iters?: number;
  batch?: number;
  calibSize?: number;
  searchSize?: number;
  k?: number;
  /** Test images for the float / calibration-only / quantized comparison (0: none). */
  evalImages: number;
}

export interface RunDescription {
  settings: RunSettings;
  model: string;
  calib: string;
  eval: string | null;
}

export type ToWorker =
  | { type: 'hello'; base: string }
  | { type: 'load-model'; source: ModelSource }
  | { type: 'quantize'; settings: RunSettings; calib: DataSource; eval: DataSource | null }
  | { type: 'resume'; eval: DataSource | null }
  | { type: 'discard' }
  | { type: 'cancel' }
  | { type: 'fim'; block: number; channels: number; rank: number; bits: number; images: number; calib: DataSource }
  | { type: 'infer'; files: File[]; top: number };

export interface UnitSummary {
  unit: string;
  seconds: number;
  losses: [number, number][];
  hardError: UnitReport['hardError'];
}

export interface RunResult {
  description: RunDescription;
  comparison: Comparison | null;
  units: UnitSummary[];
  seconds: number;
  fileName: string;
  /** The quantized-model file. */
  bytes: Uint8Array;
}

export type FromWorker =
  | { type: 'hello'; adapter: AdapterSummary; limits: { maxBufferSize: number; maxStorageBufferBindingSize: number }; unfinished: RunDescription | null; finished: RunResult | null }
  | { type: 'no-webgpu'; message: string }
  /** `blocks`: how many blocks `fimaq fim` can draw (a Swin's counted across its stages). */
  | { type: 'model'; info: ModelInfo | SwinModelInfo; blocks: number; fitProblems: string[]; labelNames: string[] }
  | { type: 'progress'; progress: PipelineProgress }
  | { type: 'notice'; message: string }
  | { type: 'unit'; unit: UnitSummary }
  | { type: 'result'; result: RunResult }
  | { type: 'cancelled'; resumable: boolean }
  | { type: 'fim'; width: number; height: number; rgba: Uint8Array; panels: string[]; errors: { diag: number; lowRank: number; dplr: number }; eigLossError: number }
  | { type: 'infer'; results: { image: string; top: { label: string; probability: number }[] }[]; msPerImage: number }
  /** `resumable`: the GPU device was lost and the checkpoint kept the finished units. */
  | { type: 'error'; message: string; resumable?: boolean };
