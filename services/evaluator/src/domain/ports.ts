// What the evaluator needs from the outside, as plain interfaces: the domain is tested with fakes. The rule of
// the suite: the artifact format is the data bus, RPCs carry ids and control. So datasets are read from the
// object store (adapters/dataset-store.ts, the documented dataset format), and the segmenter is asked to
// segment a dataset by id (adapters/segmenter-client.ts, SegmentDataset): no pixels are relayed through here.
import type { ObjectRef } from "@synthmri/platform";

export type SplitName = "train" | "test" | "all";

/** One subject of a dataset as its manifest describes it (the key is the de-identified id). */
export interface SubjectDescription {
  key: string;
  split: SplitName;
  /** Volume shape [x, y, z] before slicing. */
  shape: [number, number, number];
  /** Voxel spacing in mm [x, y, z]. */
  spacing: [number, number, number];
  /** Slices kept by preprocessing (0 when unknown). */
  sliceCount: number;
}

export interface DatasetDescription {
  id: string;
  origin: "real" | "synthetic" | "unknown";
  /** Slice shape [h, w, c] (c = 5: T1, T1CE, T2, FLAIR, mask). */
  sliceShape: [number, number, number];
  trainSlices: number;
  testSlices: number;
  /** Per-subject facts (real datasets; empty for synthetic ones). */
  subjects: SubjectDescription[];
  /** The dataset's manifest, recorded as an input of what the evaluator writes. */
  manifest?: ObjectRef;
}

/** A batch of uint8 slices, NHWC, with the subject and axial index of every slice. */
export interface SliceBatch {
  data: Uint8Array;
  n: number;
  h: number;
  w: number;
  c: number;
  subjectKeys: string[];
  sliceIndices: number[];
}

/** A channel of the stored slices (the dataset format's order: t1, t1ce, t2, flair, mask). */
export type SliceChannel = "t1" | "t1ce" | "t2" | "flair" | "mask";

export interface StreamSlicesOptions {
  split: SplitName;
  /** Only these channels, in this order (default all five). */
  channels?: readonly SliceChannel[];
  batchSize?: number;
  /** Stop after this many slices (0/undefined = all). */
  maxSlices?: number;
  shuffle?: boolean;
  seed?: number;
  signal?: AbortSignal;
}

/** Dataset artifacts: descriptions and slices. Unknown datasets throw NotFound. */
export interface SliceSource {
  describe(datasetId: string, options?: { signal?: AbortSignal }): Promise<DatasetDescription>;
  streamSlices(datasetId: string, options: StreamSlicesOptions): AsyncIterable<SliceBatch>;
}

/** Label maps for one batch of dataset slices, internal labels (0 bg, 1 NCR, 2 ED, 3 ET), [n, h, w]. */
export interface LabelBatch {
  index: number;
  labels: Uint8Array;
  n: number;
  h: number;
  w: number;
  /** subject key and axial index of each slice */
  subjectKeys: string[];
  sliceIndices: number[];
}

export interface SegmentDatasetOptions {
  modelId: string;
  version: number;
  tta: boolean;
  split: SplitName;
  /** Slices per batch (default 32). */
  batchSize?: number;
  signal?: AbortSignal;
}

/** The segmenter service. Unknown models throw NotFound. */
export interface Segmenter {
  /** Checks the model exists and warms it; returns the version that will answer. */
  prepare(
    modelId: string,
    version: number,
    options?: { signal?: AbortSignal },
  ): Promise<{ version: number; manifest?: ObjectRef }>;
  /**
   * Segments a split of a dataset artifact the segmenter reads itself: label batches in the dataset's
   * manifest order, as many slices per batch as streamSlices with the same split and batch size gives.
   */
  segmentDataset(datasetId: string, options: SegmentDatasetOptions): AsyncIterable<LabelBatch>;
}
