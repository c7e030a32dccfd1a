// DatasetReader over the object store: dataset artifacts (manifest + uint8 NHWC shards) as ingest and the
// generator write them, read with the one shard reader of @synthmri/volume.
import type { ArtifactStore, ObjectRef } from "@synthmri/platform";
import {
  asDatasetManifest,
  DATASET_KIND,
  type DatasetFields,
  type ReadSlicesOptions,
  readDatasetSlices,
  type SliceBatch,
} from "@synthmri/volume";
import type { DatasetReader } from "../domain/ports.js";

export class StoreDatasetReader implements DatasetReader {
  constructor(private readonly artifacts: ArtifactStore) {}

  async manifest(datasetId: string): Promise<DatasetFields & { id?: string }> {
    return asDatasetManifest(await this.artifacts.getManifest(DATASET_KIND, datasetId));
  }

  manifestRef(datasetId: string): Promise<ObjectRef> {
    return this.artifacts.manifestRef(DATASET_KIND, datasetId);
  }

  slices(datasetId: string, fields: DatasetFields, options: ReadSlicesOptions): AsyncIterable<SliceBatch> {
    return readDatasetSlices(fields, (p) => this.artifacts.readFile(DATASET_KIND, datasetId, p), options);
  }
}
