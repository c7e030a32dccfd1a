// What the generator's domain needs from the outside, as small interfaces: the training slices of an ingested
// dataset (the adapter reads the documented dataset shard format from the object store), and job states.
import type { ObjectRef } from "@synthmri/platform";

export interface DatasetSummary {
  id: string;
  trainSlices: number;
  testSlices: number;
  /** [height, width, channels] of the stored slices */
  sliceShape: [number, number, number];
  manifest: ObjectRef;
}

/** Slices in memory as uint8 NHWC (0-255; mask 0/51/102/204), resized to `size`. */
export interface LoadedSlices {
  count: number;
  size: number;
  channels: number;
  data: Uint8Array;
}

export interface DatasetReader {
  /** NotFound for an unknown dataset; FailedPrecondition for a manifest this build cannot read. */
  describe(datasetId: string): Promise<DatasetSummary>;
  /**
   * Train-split slices (or `split` "test": the held-out subjects') resized to size x size (at most maxSlices
   * when > 0), in a seeded shuffled order.
   */
  loadTrain(
    datasetId: string,
    options: {
      size: number;
      maxSlices?: number;
      subjectKeys?: string[];
      seed?: number;
      signal?: AbortSignal;
      split?: "train" | "test";
    },
  ): Promise<LoadedSlices>;
}
