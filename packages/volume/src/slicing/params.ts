// Seed-000 preprocessing parameters. Defaults follow the seed (section 3): axial slices, keep a
// slice when >= 15 % of its pixels exceed 50 after rescaling to 0-255, zero-pad 240 -> 256,
// labels NCR/ED/ET -> 51/102/204, 5 channels (T1, T1Gd, T2, FLAIR, mask).
//
// Choices the seed leaves open, and why:
// - Rescaling is min-max per 3D volume (each sequence of each subject separately): the seed says
//   only "rescaled to 0-255"; min-max is the plain reading and keeps BraTS' zero background at 0.
//   `rescale: "percentile"` clips at the given upper percentile first (robust to hot voxels).
// - The 15 % / > 50 test reads the T1 channel of the unpadded slice: the seed speaks of one
//   intensity per pixel, and T1 is the first channel of its 5-channel images; every sequence
//   shows the same brain extent, so the choice moves only borderline slices. Configurable
//   (`thresholdChannel`: t1 | t1ce | t2 | flair | max) and recorded with the dataset.
// - The fraction is over the unpadded slice (240x240), the image the test was described on.
import { SEED000_MASK_VALUES } from "@synthmri/core";

export type SequenceName = "t1" | "t1ce" | "t2" | "flair";
export const SEQUENCES: readonly SequenceName[] = ["t1", "t1ce", "t2", "flair"];

export interface SliceParams {
  /** axis sliced (2 = axial for LPS/RAS volumes) */
  axis: 0 | 1 | 2;
  /** keep a slice when at least this fraction of its pixels ... */
  minFraction: number;
  /** ... exceed this value (0-255 scale) */
  intensityThreshold: number;
  /** which image the test reads */
  thresholdChannel: SequenceName | "max";
  /** output square size; "pow2" = next power of two of the larger in-plane dim */
  padTo: number | "pow2";
  rescale: "minmax" | "percentile";
  /** upper percentile for rescale = "percentile" (lower bound stays the volume minimum) */
  percentile: number;
  /** mask values for internal labels 1 (NCR), 2 (ED), 3 (ET) */
  labelValues: [number, number, number];
  /** channel order, mask last */
  channels: readonly [...SequenceName[], "mask"];
}

export const SEED000_SLICE_PARAMS: SliceParams = {
  axis: 2,
  minFraction: 0.15,
  intensityThreshold: 50,
  thresholdChannel: "t1",
  padTo: "pow2",
  rescale: "minmax",
  percentile: 99.5,
  labelValues: [SEED000_MASK_VALUES.NCR, SEED000_MASK_VALUES.ED, SEED000_MASK_VALUES.ET],
  channels: ["t1", "t1ce", "t2", "flair", "mask"],
};

export function resolveSliceParams(p: Partial<SliceParams> = {}): SliceParams {
  return { ...SEED000_SLICE_PARAMS, ...p };
}
