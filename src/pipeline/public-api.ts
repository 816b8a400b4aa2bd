/**
 * The pure API that the package exports from both entries (src/node/index.ts and
 * src/browser/index.ts), by name, one statement per module, sorted by module path. The entries add
 * where the GPU, the files and the data come from.
 */
export { type Batch, type Dataset, type DatasetNames, FASHION_MNIST_CLASSES, type IdxSource, type ImageSample, idxDataset, imageListDataset } from '../data/dataset.js';
export type { LabelOptions } from '../data/folder-labels.js';
export { type IdxArray, parseIdx } from '../data/idx.js';
export { type Interpolation, type PreprocessConfig, type RawImage, preprocess, validatePreprocessConfig } from '../data/preprocess.js';
export { type EvalOptions, type EvalResult, evaluate, fidelityTo, top1Agreement } from '../inference/evaluate.js';
export { uploadIntModel } from '../inference/int-model.js';
export { IntSwin } from '../inference/int-swin.js';
export { IntVit } from '../inference/int-vit.js';
export { checkpointFromBytes, checkpointToSafetensors } from '../io/checkpoint-file.js';
export { checkMatchesModel, isQuantizedFile, parseQuantizedModel, parseQuantizedVit, serializeQuantizedModel } from '../io/quantized-file.js';
export { type CheckpointFile, MemoryStore, type RunStore } from '../io/run-store.js';
export { type ModelCheckpoint, type SwinCheckpoint, type VitCheckpoint, isSwinCheckpoint, requireVit } from '../model/checkpoint.js';
export type { Classifier } from '../model/classifier.js';
export { type VitConfig, parseVitConfig } from '../model/config.js';
export { uploadFloatModel } from '../model/float-model.js';
export { type ModelConfig, parseModelConfig } from '../model/model-config.js';
export { type SwinConfig, type SwinStage, type SwinWindowing, parseSwinConfig } from '../model/swin-config.js';
export { SwinModel, swinForwardFlops, swinParameterCount } from '../model/swin.js';
export { VitModel, forwardFlops, parameterCount } from '../model/vit.js';
export { type AblationOptions, type AblationRequest, type AblationRun, ablationTable, runAblation } from './ablate.js';
export { type CompareOptions, type Comparison, compareTop1 } from './compare.js';
export { type FisherPicture, type FisherPictureRequest, fisherPicture } from './fim.js';
export {
  type ModelInfo,
  type RunMemory,
  type RunShape,
  type SwinModelInfo,
  type SwinStageInfo,
  memoryFitProblems,
  memoryPeakPhase,
  modelInfo,
  runMemory,
  swinModelInfo,
} from './model-info.js';
export {
  type CalibrationImages,
  type CheckpointPolicy,
  FISHER_METHODS,
  METHODS,
  type Method,
  type PipelineProgress,
  type QuantizeOptions,
  type QuantizeRequest,
  type QuantizeResult,
  RECON_METHODS,
  adapterName,
  calibrationImages,
  isReconMethod,
  quantizeModel,
} from './quantize.js';
export { seededIndices } from '../quant/calibration-set.js';
export { FakeQuantModel } from '../quant/fake-quant-model.js';
export type { QuantizedVit } from '../quant/quantized-model.js';
export { DEFAULT_FISHER, type FisherSettings } from '../recon/losses.js';
export type { UnitReport } from '../recon/reconstruct.js';
export { PRESETS, type PresetName, type ReconSettings } from '../recon/settings.js';
export type { AdapterSummary, GpuContext, Tensor } from '../runtime/context.js';
export { FimaqError } from '../util/errors.js';
