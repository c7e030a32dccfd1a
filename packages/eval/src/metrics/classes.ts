// BraTS evaluation classes over the internal label scheme (0 background, 1 NCR, 2 ED, 3 ET).
// NCR/ED/ET are the single labels as in seed 000 Table 1; WT and TC are the BraTS challenge regions.

export const SEG_CLASSES = ["NCR", "ED", "ET", "WT", "TC"] as const;
export type SegClass = (typeof SEG_CLASSES)[number];

/** Highest label of the internal scheme; anything above it is rejected. */
export const MAX_LABEL = 3;

/** Which internal labels belong to each class (index = label 0..3). */
export const CLASS_LABELS: Record<SegClass, readonly number[]> = {
  NCR: [1],
  ED: [2],
  ET: [3],
  WT: [1, 2, 3],
  TC: [1, 3],
};

/** Lookup table label -> 0/1 for one class, so masking a volume is one table read per voxel. */
export function classLookup(cls: SegClass): Uint8Array {
  const lut = new Uint8Array(256);
  for (const l of CLASS_LABELS[cls]) lut[l] = 1;
  return lut;
}

export const CLASS_DESCRIPTIONS: Record<SegClass, string> = {
  NCR: "necrotic and non-enhancing tumour core (label 1)",
  ED: "peritumoural edema (label 2)",
  ET: "GD-enhancing tumour (label 3)",
  WT: "whole tumour (labels 1, 2, 3)",
  TC: "tumour core (labels 1, 3)",
};
