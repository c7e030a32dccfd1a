// What the segmenter's domain needs from the outside: dataset artifacts, read in the documented dataset
// format (packages/volume/src/dataset/FORMAT.md). The artifact format is the data bus between services;
// RPCs carry ids and control. The adapter (adapters/dataset-store.ts) reads them from the object store.
import type { ObjectRef } from "@synthmri/platform";
import type { DatasetFields, ReadSlicesOptions, SliceBatch } from "@synthmri/volume";

export interface DatasetReader {
  /** The dataset's manifest fields. NotFound for an unknown id; FailedPrecondition for a format this build cannot read. */
  manifest(datasetId: string): Promise<DatasetFields & { id?: string }>;
  /** The manifest's object reference (recorded as an input of what is made from the dataset). */
  manifestRef(datasetId: string): Promise<ObjectRef>;
  /** Slices of the dataset (its manifest as returned by `manifest`) in batches. */
  slices(datasetId: string, fields: DatasetFields, options: ReadSlicesOptions): AsyncIterable<SliceBatch>;
}
