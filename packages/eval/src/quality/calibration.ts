// Thresholds calibrated on real data (issue 16): the seed-001 outlier threshold and the memorization gate were
// fixed numbers (500 x sqrt(px / 256^2); NCC 0.95) that mean different things on different cohorts and
// resolutions; here they rejected 5-9 % of never-seen real slices as outliers and flagged 23 % as copies. The
// reference is what the measure gives for REAL images the reference set has never seen: real held-out slices
// scored against the real training slices. A synthetic image is then an outlier (or a copy) only when it is
// further out (or closer) than all but a chosen percentile of unseen real images. Both distributions (held-out
// vs train, and train vs itself where it is defined) are returned for the report.
import { InvalidInput, type PaceOptions, runSteps, runStepsPaced, type Steps } from "@synthmri/core";
import { defaultOutlierThreshold, type OutlierReference, outlierNorms, outlierReference } from "@synthmri/ml";
import { percentileSorted } from "../stats/descriptive.js";
import type { ImageSet } from "./image-set.js";
import { MemorizationGate, type MemorizationOptions } from "./memorization.js";

const QUANTILES = [0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1];

export interface ReferenceDistribution {
  n: number;
  mean: number;
  quantiles: { q: number; value: number }[];
  /** every value, ascending (for histograms in the report) */
  sorted: number[];
}

export function referenceDistribution(values: ArrayLike<number>): ReferenceDistribution {
  const sorted = Array.from(values).sort((a, b) => a - b);
  if (!sorted.length) throw new InvalidInput("a reference distribution needs at least one value");
  return {
    n: sorted.length,
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    quantiles: QUANTILES.map((q) => ({ q, value: percentileSorted(sorted, q * 100) })),
    sorted,
  };
}

function checkPercentile(p: number): void {
  if (!(p > 0 && p <= 100)) throw new InvalidInput(`calibration percentile must be in (0, 100], got ${p}`);
}

/** Images as the outlier filter reads them: NHWC float32 in [-1, 1] (the GAN's scale). */
export interface OutlierImages {
  images: Float32Array;
  count: number;
  size: number;
  channels: number;
}

export interface OutlierCalibration {
  /** reject a synthetic image whose standardised norm exceeds this */
  threshold: number;
  percentile: number;
  /** the seed's size-scaled constant, for comparison */
  seedThreshold: number;
  /** fraction of real held-out images the seed's constant would reject */
  seedRejectsHeldOut: number;
  /** norms of real held-out images against the training reference (what the threshold is a percentile of) */
  heldOut: ReferenceDistribution;
  /** norms of the training images against their own reference (in-sample, lower: for the report) */
  train: ReferenceDistribution;
  /** the reference to filter synthetic images with */
  reference: OutlierReference;
}

/**
 * Outlier threshold = the `percentile` (default 99) of the outlier norms of real held-out images against the
 * per-pixel statistics of the real training images: by construction about (100 - percentile) % of unseen real
 * images would be rejected.
 */
export function calibrateOutlierThreshold(
  realHeldOut: OutlierImages,
  realTrain: OutlierImages,
  percentile = 99,
  options: { channels?: number[]; minStd?: number } = {},
): OutlierCalibration {
  checkPercentile(percentile);
  if (realHeldOut.size !== realTrain.size || realHeldOut.channels !== realTrain.channels)
    throw new InvalidInput(
      `held-out images are ${realHeldOut.size}px x ${realHeldOut.channels} channels, training images ` +
        `${realTrain.size}px x ${realTrain.channels}; calibrate on one resolution and layout`,
    );
  if (realHeldOut.count < 1) throw new InvalidInput("outlier calibration needs at least one real held-out image");
  const reference = outlierReference(realTrain.images, realTrain.count, realTrain.size, realTrain.channels, options);
  const held = outlierNorms(reference, realHeldOut.images, realHeldOut.count, realHeldOut.channels);
  const own = outlierNorms(reference, realTrain.images, realTrain.count, realTrain.channels);
  const heldOut = referenceDistribution(held);
  const seedThreshold = defaultOutlierThreshold(reference.size, reference.channels.length);
  return {
    threshold: percentileSorted(heldOut.sorted, percentile),
    percentile,
    seedThreshold,
    seedRejectsHeldOut: held.filter((v) => v > seedThreshold).length / held.length,
    heldOut,
    train: referenceDistribution(own),
    reference,
  };
}

export interface MemorizationCalibration {
  /** flag a synthetic image whose max NCC to any real training slice reaches this */
  nccThreshold: number;
  percentile: number;
  /** max NCC (over the checked channels) of each real held-out slice to the real training slices */
  heldOut: ReferenceDistribution;
  /** fraction of real held-out slices a fixed 0.95 gate would have flagged as copies */
  fixedGateFlagsHeldOut: number;
}

/**
 * Memorization gate threshold = the `percentile` (default 99) of the max NCC of real held-out slices (never
 * seen) to the real training slices: a synthetic image is flagged only when it is closer to a training slice
 * than 99 % of genuinely new real images are. Pass the gate itself (built on the training slices) to reuse
 * its prepared statistics.
 */
export function calibrateMemorizationGate(
  realHeldOut: ImageSet,
  realTrain: ImageSet | MemorizationGate,
  percentile = 99,
  options: Pick<MemorizationOptions, "channels"> = {},
): MemorizationCalibration {
  return runSteps(calibrationSteps(realHeldOut, realTrain, percentile, options));
}

/** `calibrateMemorizationGate`, yielding to the event loop as it goes (for a process that serves or calls gRPC). */
export function calibrateMemorizationGateAsync(
  realHeldOut: ImageSet,
  realTrain: ImageSet | MemorizationGate,
  percentile = 99,
  options: Pick<MemorizationOptions, "channels"> & { pace?: PaceOptions } = {},
): Promise<MemorizationCalibration> {
  return runStepsPaced(calibrationSteps(realHeldOut, realTrain, percentile, options), options.pace);
}

function* calibrationSteps(
  realHeldOut: ImageSet,
  realTrain: ImageSet | MemorizationGate,
  percentile: number,
  options: Pick<MemorizationOptions, "channels">,
): Steps<MemorizationCalibration> {
  checkPercentile(percentile);
  const gate = realTrain instanceof MemorizationGate ? realTrain : new MemorizationGate(realTrain, options);
  const ncc = (yield* gate.matchSteps(realHeldOut)).map((m) => m.maxNcc);
  const heldOut = referenceDistribution(ncc);
  // NCC is at most 1: a percentile above every held-out value still leaves exact copies flagged
  const nccThreshold = Math.min(1, percentileSorted(heldOut.sorted, percentile));
  return {
    nccThreshold,
    percentile,
    heldOut,
    fixedGateFlagsHeldOut: ncc.filter((v) => v >= 0.95).length / ncc.length,
  };
}
