// What a training request and a stored model are, in plain JSON (job params are persisted, so a resumed
// job after a restart gets exactly these back).
import type { AugmentationOptions, SegTrainConfig, UNetConfig, ValidationDice } from "@synthmri/ml";
import type { DatasetPreprocessing } from "@synthmri/volume";

export type SourceSplit = "train" | "test" | "all";
export type Mixture = "equal" | "concat";

/**
 * Where validation slices come from. "per-source": each training source holds out `fraction` of its own
 * data (real sources by subject, synthetic ones by image, as seed 000 holds out 20 % of the training images).
 * "real-subjects": every condition validates on the same held-out real subjects (the real sources' and the
 * `validationOnly` sources' subject hold-out, same seed, so the same subjects as the real-only condition);
 * synthetic sources then train on all their images. The report must say which was used.
 */
export type ValidationScheme = "per-source" | "real-subjects";

export interface TrainingSourceSpec {
  datasetId: string;
  split: SourceSplit;
  /** 0 = all slices of the split */
  maxSlices: number;
}

export interface TrainParams {
  name: string;
  sources: TrainingSourceSpec[];
  mixture: Mixture;
  validationFraction: number;
  /** Which held-out slices select the best epoch (absent in params persisted before it existed: per source). */
  validation?: ValidationScheme;
  /** Real datasets read only for their held-out subjects (validation "real-subjects" without a real source). */
  validationSources?: TrainingSourceSpec[];
  runs: number;
  baseSeed: number;
  /** side of the square slices the net trains on (dataset slices are resized to it) */
  inputSize: number;
  unet: Pick<UNetConfig, "widths" | "deepSupervisionHeads">;
  train: Pick<
    SegTrainConfig,
    "epochs" | "iterationsPerEpoch" | "batchSize" | "lr" | "polyExponent" | "momentum" | "weightDecay" | "patchSize"
  > & {
    /** Stop after this many training samples (seed 000: up to 3e7); 0 = epochs decide. */
    maxSamples?: number;
    /** Stop after this many seconds of training (seed 000: up to 3 days), keeping the best epoch; 0 = no limit. */
    maxSeconds?: number;
  };
  augmentation: AugmentationOptions;
  labels: Record<string, string>;
  /** decided when the job starts, one per run, so a resumed job publishes under the promised ids */
  modelIds: string[];
}

/** How raw volumes become net inputs: the dataset's seed-000 slicing, then resizing to the net's side. */
export interface ModelPreprocessing {
  /** the training datasets' preprocessing (rescale, pad); null when only synthetic data was used */
  dataset: DatasetPreprocessing | null;
  /** side of the dataset slices before resizing (e.g. 256) */
  datasetSize: number;
  /** side the net sees */
  inputSize: number;
  /** per-slice z-score over the brain (any channel non-zero), as in training */
  normalization: "zscore-brain";
}

/** The kind-specific fields of a seg-model manifest. */
export interface SegModelFields {
  model: {
    id: string;
    version: number;
    name: string;
    run: number;
    seed: number;
    sources: TrainingSourceSpec[];
    mixture: Mixture;
    unet: UNetConfig;
    train: TrainParams["train"];
    augmentation: AugmentationOptions;
    validationDice: ValidationDice | null;
    bestEpoch: number;
    preprocessing: ModelPreprocessing;
    jobId: string;
    labels: Record<string, string>;
    /** weights file inside the artifact */
    weights: string;
  };
}

export const SEG_MODEL_KIND = "seg-model";
export const WEIGHTS_FILE = "model.smunet";
