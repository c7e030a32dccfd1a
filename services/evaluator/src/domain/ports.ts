// What the evaluator needs from other services, as plain interfaces: the domain is tested with fakes and the
// gRPC adapters (adapters/) implement them over the ingest and segmenter services.
import type { ObjectRef } from "@synthmri/platform";

export type SplitName = "train" | "test" | "all";

/** One subject of a dataset as the ingest service describes it (the key is the de-identified id). */
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

export interface StreamSlicesOptions {
  split: SplitName;
  batchSize?: number;
  /** Stop after this many slices (0/undefined = all). */
  maxSlices?: number;
  shuffle?: boolean;
  seed?: number;
  signal?: AbortSignal;
}

/** The ingest service: dataset descriptions and slice streams. Unknown datasets throw NotFound. */
export interface SliceSource {
  describe(datasetId: string, options?: { signal?: AbortSignal }): Promise<DatasetDescription>;
  streamSlices(datasetId: string, options: StreamSlicesOptions): AsyncIterable<SliceBatch>;
}

/** Four-channel (T1, T1CE, T2, FLAIR) uint8 input batch for the segmenter. */
export interface ImageBatch {
  index: number;
  data: Uint8Array;
  n: number;
  h: number;
  w: number;
}

/** Label maps for one input batch, internal labels (0 bg, 1 NCR, 2 ED, 3 ET), [n, h, w]. */
export interface LabelBatch {
  index: number;
  labels: Uint8Array;
  n: number;
  h: number;
  w: number;
}

export interface SegmentOptions {
  modelId: string;
  version: number;
  tta: boolean;
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
  /** One label batch per input batch, in order. */
  segment(batches: AsyncIterable<ImageBatch>, options: SegmentOptions): AsyncIterable<LabelBatch>;
}
