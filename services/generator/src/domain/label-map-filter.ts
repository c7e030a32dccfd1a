// Seed 001's outlier filter on a two-stage ensemble's generated label maps (where the seed applied it), with the
// PGAN path's threshold rules: the request's threshold, else the calibrated percentile of real held-out maps'
// norms (the request's calibrate_percentile, 99 by default: seed 001's 500 was tuned for its own mask encoding
// and means nothing for 7-class one-hot maps). The real maps are the dataset's slices with the tissue labels the
// family trained on (families.ts realLabelMaps).
import { calibrateLabelMapThreshold, labelMapNorms, labelMapReference, type SampleBatch } from "@synthmri/ml";
import { FailedPrecondition } from "@synthmri/platform";
import { realLabelMaps } from "./families.js";
import type { DatasetReader } from "./ports.js";

/** Percentile of real held-out maps' norms that becomes the threshold when the request gives neither. */
export const DEFAULT_LABEL_MAP_PERCENTILE = 99;

export interface LabelMapScreen {
  threshold: number;
  /** With a calibrated threshold: where it came from. */
  calibration?: {
    percentile: number;
    heldOutSlices: number;
    heldOutNorms: { p50: number; p90: number; p99: number; max: number };
  };
  /** Norm of each sample's label map (the batch must come from a two-stage model). */
  norms(batch: SampleBatch): Float64Array;
}

export async function labelMapScreen(
  datasets: DatasetReader,
  datasetId: string,
  size: number,
  settings: { threshold?: number; calibratePercentile?: number; maxSlices: number },
  signal?: AbortSignal,
): Promise<LabelMapScreen> {
  const load = (split: "train" | "test") =>
    datasets.loadTrain(datasetId, { size, maxSlices: settings.maxSlices, seed: 1, signal, split });
  const train = await load("train");
  if (train.count < 2)
    throw new FailedPrecondition(
      `dataset ${datasetId} has ${train.count} train slices; the label-map outlier filter needs at least 2`,
    );
  const ref = labelMapReference(realLabelMaps(train), train.count, size);
  const norms = (b: SampleBatch) => {
    if (!b.labelMaps) throw new FailedPrecondition("the label-map outlier filter got samples without label maps");
    return labelMapNorms(ref, b.labelMaps, b.count);
  };
  if (settings.threshold) return { threshold: settings.threshold, norms };
  const held = await load("test");
  if (held.count < 1)
    throw new FailedPrecondition(
      `dataset ${datasetId} has no held-out (test) slices to calibrate the label-map outlier threshold on; give a threshold instead`,
    );
  const percentile = settings.calibratePercentile || DEFAULT_LABEL_MAP_PERCENTILE;
  const c = calibrateLabelMapThreshold(ref, realLabelMaps(held), held.count, percentile);
  return {
    threshold: c.threshold,
    calibration: { percentile, heldOutSlices: c.heldOutMaps, heldOutNorms: c.heldOutNorms },
    norms,
  };
}
