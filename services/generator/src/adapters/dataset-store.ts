// Training slices straight from the object store, in the documented dataset format
// (packages/volume/src/dataset/FORMAT.md): manifest + uint8 NHWC shards. Simpler and faster than streaming
// them through the ingest service, and it works for real and synthetic datasets alike.
import { type ArtifactStore, FailedPrecondition } from "@synthmri/platform";
import { asDatasetManifest, countSelected, DATASET_KIND, readDatasetSlices } from "@synthmri/volume";
import type { DatasetReader, DatasetSummary, LoadedSlices } from "../domain/ports.js";

export class StoreDatasetReader implements DatasetReader {
  constructor(private readonly artifacts: ArtifactStore) {}

  private async manifest(datasetId: string) {
    return asDatasetManifest(await this.artifacts.getManifest(DATASET_KIND, datasetId));
  }

  async describe(datasetId: string): Promise<DatasetSummary> {
    const m = await this.manifest(datasetId);
    return {
      id: datasetId,
      trainSlices: countSelected(m, { split: "train" }),
      testSlices: countSelected(m, { split: "test" }),
      sliceShape: m.sliceShape,
      manifest: await this.artifacts.manifestRef(DATASET_KIND, datasetId),
    };
  }

  async loadTrain(
    datasetId: string,
    options: {
      size: number;
      maxSlices?: number;
      subjectKeys?: string[];
      seed?: number;
      signal?: AbortSignal;
      split?: "train" | "test";
    },
  ): Promise<LoadedSlices> {
    const m = await this.manifest(datasetId);
    const split = options.split ?? "train";
    const select = { split, maxSlices: options.maxSlices, subjectKeys: options.subjectKeys };
    const total = countSelected(m, select);
    if (total < 1)
      throw new FailedPrecondition(
        `dataset ${datasetId} has no ${split} slices${options.subjectKeys?.length ? " of the requested subjects" : ""}; ingest slices first`,
      );
    const channels = m.sliceShape[2];
    const per = options.size * options.size * channels;
    const data = new Uint8Array(total * per);
    let n = 0;
    for await (const b of readDatasetSlices(m, (p) => this.artifacts.readFile(DATASET_KIND, datasetId, p), {
      split,
      batchSize: 256,
      shuffle: true,
      seed: options.seed ?? 0,
      maxSlices: options.maxSlices,
      subjectKeys: options.subjectKeys,
      resize: options.size,
      signal: options.signal,
    })) {
      data.set(b.data.subarray(0, Math.min(b.count, total - n) * per), n * per);
      n += Math.min(b.count, total - n);
    }
    return { count: n, size: options.size, channels, data: data.subarray(0, n * per) };
  }
}
