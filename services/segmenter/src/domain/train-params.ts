// TrainSegmenter request -> validated, fully defaulted job params. Zero means "the seed 000 / nnU-Net
// default"; datasets are checked to exist before a job is started, so a typo fails the RPC itself.
import { DEFAULT_SEG_TRAIN, type AugmentationOptions } from "@synthmri/ml";
import { InvalidInput } from "@synthmri/platform";
import type { DatasetReader } from "./ports.js";
import type { Mixture, TrainingSourceSpec, TrainParams, ValidationScheme } from "./types.js";

export interface TrainRequest {
  name: string;
  sources: TrainingSourceSpec[];
  mixture: Mixture;
  validationFraction: number;
  /** default "per-source" */
  validation?: ValidationScheme;
  validationSources?: TrainingSourceSpec[];
  runs: number;
  baseSeed: number;
  config: {
    inputSize: number;
    depth: number;
    baseFilters: number;
    maxFilters: number;
    deepSupervision: number;
    epochs: number;
    iterationsPerEpoch: number;
    batchSize: number;
    learningRate: number;
    polyExponent: number;
    momentum: number;
    weightDecay: number;
    /** nnU-Net patch-based training: crop side (0 = whole slices). */
    patchSize?: number;
    /** Run length in training samples (0 = epochs decide). */
    maxTrainingSamples?: number;
    /** Run length in seconds (0 = no limit). */
    maxTrainingSeconds?: number;
  };
  augmentation: AugmentationOptions;
  labels: Record<string, string>;
}

const MAX_RUNS = 100;

function slug(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40);
  return s || "seg";
}

export async function resolveTrainParams(
  datasets: DatasetReader,
  r: TrainRequest,
  jobTag: string,
): Promise<TrainParams> {
  if (!r.sources.length) throw new InvalidInput("sources is empty; give at least one training dataset id");
  const sizes: number[] = [];
  for (const s of r.sources) {
    const m = await datasets.manifest(s.datasetId);
    sizes.push(m.sliceShape[0]);
  }
  const runs = r.runs || 1;
  if (runs > MAX_RUNS) throw new InvalidInput(`runs ${runs} is more than ${MAX_RUNS}; split the request`);
  const vf = r.validationFraction || 0.2;
  if (!(vf > 0 && vf < 1)) throw new InvalidInput(`validation_fraction ${vf} must be in (0, 1)`);
  const c = r.config;
  const inputSize = c.inputSize || sizes[0];
  if (inputSize < 8 || inputSize > 1024 || !Number.isInteger(inputSize))
    throw new InvalidInput(`config.input_size ${inputSize} must be an integer from 8 to 1024`);
  // Seed 000: 6 levels at 256 (the bench net's 5 at 128 plus one); one level less per halving.
  const depth = c.depth || Math.max(2, Math.min(8, Math.round(Math.log2(inputSize)) - 2));
  if (inputSize % 2 ** (depth - 1) !== 0)
    throw new InvalidInput(
      `config.input_size ${inputSize} must be divisible by ${2 ** (depth - 1)} for depth ${depth}; choose a power of two`,
    );
  const base = c.baseFilters || 32;
  const maxF = c.maxFilters || 512;
  const widths = Array.from({ length: depth }, (_, i) => Math.min(maxF, base * 2 ** i));
  const heads = c.deepSupervision || Math.min(5, depth - 1);
  const patchSize = c.patchSize || 0;
  if (patchSize && (patchSize > inputSize || patchSize % 2 ** (depth - 1) !== 0))
    throw new InvalidInput(
      `config.patch_size ${patchSize} must be at most input_size ${inputSize} and divisible by ${2 ** (depth - 1)} for depth ${depth}`,
    );
  const maxSamples = c.maxTrainingSamples || 0;
  if (!(Number.isInteger(maxSamples) && maxSamples >= 0))
    throw new InvalidInput(
      `config.max_training_samples ${maxSamples} must be a whole number of samples (0 = no limit)`,
    );
  const maxSeconds = c.maxTrainingSeconds || 0;
  if (!(Number.isFinite(maxSeconds) && maxSeconds >= 0))
    throw new InvalidInput(`config.max_training_seconds ${maxSeconds} must be >= 0 (0 = no limit)`);
  const validation = r.validation ?? "per-source";
  const validationSources = r.validationSources ?? [];
  if (validationSources.length && validation !== "real-subjects")
    throw new InvalidInput(
      "validation_sources are read only with validation_scheme VALIDATION_SCHEME_REAL_SUBJECTS; set it or drop them",
    );
  for (const s of validationSources) {
    const m = await datasets.manifest(s.datasetId);
    if (m.origin === "synthetic")
      throw new InvalidInput(
        `validation source ${s.datasetId} is synthetic; validate on a real dataset's held-out subjects`,
      );
  }
  if (validation === "real-subjects" && !validationSources.length) {
    const origins = await Promise.all(r.sources.map(async (s) => (await datasets.manifest(s.datasetId)).origin));
    if (origins.every((o) => o === "synthetic"))
      throw new InvalidInput(
        "validation_scheme VALIDATION_SCHEME_REAL_SUBJECTS with only synthetic sources needs validation_sources (a real dataset)",
      );
  }
  const tag = `${slug(r.name)}-${jobTag}`;
  return {
    name: r.name || "segmenter",
    sources: r.sources,
    mixture: r.mixture,
    validationFraction: vf,
    ...(validation !== "per-source" ? { validation, validationSources } : {}),
    runs,
    baseSeed: r.baseSeed,
    inputSize,
    unet: { widths, deepSupervisionHeads: heads },
    train: {
      epochs: c.epochs || DEFAULT_SEG_TRAIN.epochs,
      iterationsPerEpoch: c.iterationsPerEpoch || DEFAULT_SEG_TRAIN.iterationsPerEpoch,
      batchSize: c.batchSize || DEFAULT_SEG_TRAIN.batchSize,
      lr: c.learningRate || DEFAULT_SEG_TRAIN.lr,
      polyExponent: c.polyExponent || DEFAULT_SEG_TRAIN.polyExponent,
      momentum: c.momentum || DEFAULT_SEG_TRAIN.momentum,
      weightDecay: c.weightDecay || DEFAULT_SEG_TRAIN.weightDecay,
      ...(patchSize && patchSize < inputSize ? { patchSize } : {}),
      ...(maxSamples ? { maxSamples } : {}),
      ...(maxSeconds ? { maxSeconds } : {}),
    },
    augmentation: r.augmentation,
    labels: r.labels,
    modelIds: Array.from({ length: runs }, (_, i) => `${tag}-r${i}`),
  };
}
