// SliceSource over the object store: dataset artifacts (manifest + uint8 NHWC shards, the documented format
// of packages/volume/src/dataset/FORMAT.md) read with the one shard reader of @synthmri/volume, as the
// generator and the segmenter read them. Real and synthetic datasets alike.
import type { ArtifactStore } from "@synthmri/platform";
import {
  asDatasetManifest,
  countSelected,
  DATASET_KIND,
  type DatasetFields,
  readDatasetSlices,
} from "@synthmri/volume";
import type {
  DatasetDescription,
  SliceBatch,
  SliceSource,
  SplitName,
  StreamSlicesOptions,
  SubjectDescription,
} from "../domain/ports.js";

function triple(v: readonly number[]): [number, number, number] {
  return [Number(v[0] ?? 0), Number(v[1] ?? 0), Number(v[2] ?? 0)];
}

export class StoreSliceSource implements SliceSource {
  constructor(private readonly artifacts: ArtifactStore) {}

  private async fields(datasetId: string): Promise<DatasetFields> {
    return asDatasetManifest(await this.artifacts.getManifest(DATASET_KIND, datasetId));
  }

  async describe(datasetId: string): Promise<DatasetDescription> {
    const m = await this.fields(datasetId);
    const subjects: SubjectDescription[] = m.subjects.map((s) => ({
      key: s.key,
      split: s.split as SplitName,
      shape: triple(s.shape),
      spacing: triple(s.spacing),
      sliceCount: s.sliceCount,
    }));
    return {
      id: datasetId,
      origin: m.origin === "real" || m.origin === "synthetic" ? m.origin : "unknown",
      sliceShape: triple(m.sliceShape),
      trainSlices: countSelected(m, { split: "train" }),
      testSlices: countSelected(m, { split: "test" }),
      subjects,
      manifest: await this.artifacts.manifestRef(DATASET_KIND, datasetId),
    };
  }

  async *streamSlices(datasetId: string, options: StreamSlicesOptions): AsyncIterable<SliceBatch> {
    const m = await this.fields(datasetId);
    for await (const b of readDatasetSlices(m, (p) => this.artifacts.readFile(DATASET_KIND, datasetId, p), {
      split: options.split,
      batchSize: options.batchSize,
      maxSlices: options.maxSlices,
      shuffle: options.shuffle,
      seed: options.seed,
      channels: options.channels,
      signal: options.signal,
    })) {
      yield {
        data: b.data,
        n: b.count,
        h: b.height,
        w: b.width,
        c: b.channels,
        subjectKeys: b.subject,
        sliceIndices: b.sliceIndex,
      };
    }
  }
}
