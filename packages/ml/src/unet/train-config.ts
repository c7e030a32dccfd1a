import { InvalidInput } from "@synthmri/core";
import type { AugmentationOptions } from "../transforms/index.js";
import type { UNetConfig } from "./config.js";

/** Training recipe; defaults are seed 000 section 3.2 / nnU-Net. */
export interface SegTrainConfig {
  unet: Partial<UNetConfig>;
  batchSize: number;
  /** Epochs of `iterationsPerEpoch` iterations; poly decay runs over all of them. */
  epochs: number;
  iterationsPerEpoch: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  polyExponent: number;
  /** Global gradient-norm clip (nnU-Net: 12); 0 disables it. */
  gradClipNorm: number;
  augmentation: AugmentationOptions;
  /**
   * nnU-Net's oversample_foreground_percent: this fraction of every batch (rounded as nnU-Net does: 3 of 8)
   * is drawn from slices that contain tumour. Without it most 2-D BraTS slices are background-only and a
   * short run collapses to predicting background. 0 disables it (uniform slices, the pre-2026-11-25 behaviour).
   */
  foregroundOversample: number;
  /**
   * nnU-Net's patch-based training: train on random `patchSize` x `patchSize` crops of the slices (crops of
   * foreground-forced samples centred on tumour) and validate/segment whole slices. 0 or unset: whole slices.
   * Same cost per step as slices of the patch's size, at the slices' full resolution.
   */
  patchSize?: number;
  /** Stop after this many training samples (seed 000: 3e7), whichever comes first with `epochs`. */
  maxSamples?: number;
  /** Validation: at most this many held-out slices per epoch (all by default), this many per forward pass. */
  maxValidationSamples?: number;
  validationBatchSize: number;
  /** Also checkpoint every this many iterations inside an epoch (0: only at epoch ends and on cancel). */
  checkpointEveryIterations: number;
}

export const DEFAULT_SEG_TRAIN: SegTrainConfig = {
  unet: {},
  batchSize: 8,
  epochs: 100,
  iterationsPerEpoch: 250,
  lr: 5e-2,
  momentum: 0.99,
  weightDecay: 3e-5,
  polyExponent: 0.9,
  gradClipNorm: 12,
  augmentation: {},
  foregroundOversample: 0.33,
  validationBatchSize: 8,
  checkpointEveryIterations: 0,
};

/**
 * Overrides for short runs (a few hundred iterations: tests, demos, smoke experiments). nnU-Net's momentum
 * 0.99 averages over ~100 steps, so a run of 150 iterations barely leaves its initial state: measured on
 * 16 phantom subjects at 32x32 (widths [8,16,32,64], batch 8), held-out whole-tumour Dice after 150
 * iterations was 0.00 with momentum 0.99 / lr 0.05, 0.62 with 0.9 / 0.02 and 0.72 after 75 with 0.9 / 0.05.
 */
export const SHORT_RUN_SEG_TRAIN: Partial<SegTrainConfig> = {
  momentum: 0.9,
  lr: 0.05,
  foregroundOversample: 0.33,
};

export function segTrainConfig(partial: Partial<SegTrainConfig> = {}): SegTrainConfig {
  const c = { ...DEFAULT_SEG_TRAIN, ...partial };
  const positiveInts: (keyof SegTrainConfig)[] = ["batchSize", "epochs", "iterationsPerEpoch", "validationBatchSize"];
  for (const k of positiveInts) {
    const v = c[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1)
      throw new InvalidInput(`training ${k} must be a positive integer, got ${v}`);
  }
  if (!(c.lr > 0)) throw new InvalidInput(`training lr must be > 0, got ${c.lr}`);
  if (!(c.momentum >= 0 && c.momentum < 1))
    throw new InvalidInput(`training momentum must be in [0, 1), got ${c.momentum}`);
  if (!(c.foregroundOversample >= 0 && c.foregroundOversample <= 1))
    throw new InvalidInput(`training foregroundOversample must be in [0, 1], got ${c.foregroundOversample}`);
  if (c.patchSize !== undefined && !(Number.isInteger(c.patchSize) && c.patchSize >= 0))
    throw new InvalidInput(`training patchSize must be a non-negative integer (0 = whole slices), got ${c.patchSize}`);
  if (!(c.weightDecay >= 0)) throw new InvalidInput(`training weightDecay must be >= 0, got ${c.weightDecay}`);
  return c;
}

/** Iterations the run will do: epochs x iterationsPerEpoch, capped by maxSamples. */
export function totalIterations(c: SegTrainConfig): number {
  const byEpochs = c.epochs * c.iterationsPerEpoch;
  return c.maxSamples ? Math.min(byEpochs, Math.ceil(c.maxSamples / c.batchSize)) : byEpochs;
}
