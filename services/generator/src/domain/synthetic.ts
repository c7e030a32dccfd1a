// CreateSyntheticDataset: samples from a GAN/ensemble into a `dataset` artifact in the same manifest and shard
// format as the ingest service's datasets (packages/volume/src/dataset/FORMAT.md), so the segmenter trains on
// real or synthetic slices alike. Every slice's shard `subject` is syn-<ensemble>-m<member> and its sliceIndex
// the latent index, so (manifest provenance seed, member, index) regenerates it.
import { SEED000_MASK_VALUES } from "@synthmri/core";
import { memberSeed as memberLatentSeed } from "@synthmri/ml";
import type { ArtifactStore, ObjectRef } from "@synthmri/platform";
import {
  DATASET_CHANNELS,
  DATASET_FORMAT,
  DATASET_FORMAT_VERSION,
  type DatasetFields,
  DatasetShardWriter,
} from "@synthmri/volume";
import {
  generateSamples,
  resolveSource,
  type SampleParams,
  type SampleSummary,
  type SamplingDeps,
} from "./sampling.js";
import type { Control } from "./training.js";

export interface SyntheticDatasetParams {
  datasetId: string;
  name: string;
  labels: Record<string, string>;
  sample: Omit<SampleParams, "dtype" | "labelScheme" | "batchSize">;
}

export interface SyntheticDatasetResult {
  datasetId: string;
  manifest: ObjectRef;
  delivered: number;
  rejected: number;
}

export async function createSyntheticDataset(
  deps: SamplingDeps & { artifacts: ArtifactStore; provenance?: Record<string, unknown>; shardSlices?: number },
  p: SyntheticDatasetParams,
  control: Control,
): Promise<SyntheticDatasetResult> {
  const resolved = await resolveSource(deps, p.sample.source);
  // A resumed job starts over: a leftover partial artifact (no manifest) is overwritten file by file.
  const existing = await deps.artifacts.tryGetManifest("dataset", p.datasetId);
  if (existing) {
    return {
      datasetId: p.datasetId,
      manifest: await deps.artifacts.manifestRef("dataset", p.datasetId),
      delivered: (existing as { sliceCounts?: { train: number } }).sliceCounts?.train ?? 0,
      rejected: Number((existing.provenance as { rejected?: number }).rejected ?? 0),
    };
  }
  const writer = await deps.artifacts.beginArtifact("dataset", p.datasetId);
  try {
    const shards = new DatasetShardWriter(writer, deps.shardSlices ? { shardSlices: deps.shardSlices } : {});
    const it = generateSamples(
      deps,
      { ...p.sample, dtype: "uint8", labelScheme: "brats2020", batchSize: 64 },
      {
        signal: control.signal,
        resolved,
      },
    );
    let done = 0;
    let summary: SampleSummary;
    for (;;) {
      const r = await it.next();
      if (r.done) {
        summary = r.value;
        break;
      }
      const b = r.value;
      await shards.add("train", {
        height: b.size,
        width: b.size,
        channels: b.channels,
        count: b.count,
        data: b.data as Uint8Array,
        sliceIndex: b.provenance.map((q) => q.index),
        subject: b.provenance.map((q) => `syn-${q.ensembleId}-m${q.member}`),
      });
      done += b.count;
      control.progress({
        fraction: done / p.sample.count,
        phase: "sample",
        message: `${done}/${p.sample.count} synthetic slices`,
        metrics: { delivered: done },
      });
    }
    const { shards: list, sliceCounts, sliceShape } = await shards.finish();
    const size = resolved.resolution;
    const fields: DatasetFields = {
      format: DATASET_FORMAT,
      formatVersion: DATASET_FORMAT_VERSION,
      name: p.name || `synthetic from ${resolved.record.id}`,
      origin: "synthetic",
      sourceLayout: "generator",
      labelScheme: "brats2020",
      sliceShape: sliceShape ?? [size, size, 5],
      channels: DATASET_CHANNELS,
      maskValues: { ...SEED000_MASK_VALUES },
      preprocessing: null,
      split: { seed: "", testFraction: 0, train: [], test: [] },
      subjects: [],
      shards: list,
      sliceCounts,
      labels: p.labels,
    };
    const trainingDataset = await deps.datasets.describe(resolved.record.datasetId).catch(() => undefined);
    const { ref } = await writer.commit({
      inputs: [...resolved.members.map((m) => m.checkpoint), ...(trainingDataset ? [trainingDataset.manifest] : [])],
      params: { count: p.sample.count, seed: p.sample.seed, outlierFilter: p.sample.outlier ?? { enabled: false } },
      provenance: {
        service: "generator",
        ...deps.provenance,
        seed: p.sample.seed,
        ensembleId: resolved.record.id,
        trainingDatasetId: resolved.record.datasetId,
        members: resolved.members.map((m) => ({
          member: m.index,
          ganId: m.ganId,
          checkpointId: m.checkpointId,
          kimg: m.kimg,
          latentSeed: memberLatentSeed(p.sample.seed, m.index),
        })),
        delivered: summary.delivered,
        rejected: summary.rejected,
        outlierThreshold: summary.threshold,
        ...(summary.filteredOn ? { outlierFilteredOn: summary.filteredOn } : {}),
        // The calibrated threshold's reference: held-out real slices' norms (the report shows both distributions).
        ...(summary.calibration ? { outlierCalibration: summary.calibration } : {}),
      },
      extra: fields,
    });
    return { datasetId: p.datasetId, manifest: ref, delivered: summary.delivered, rejected: summary.rejected };
  } catch (e) {
    await writer.abort().catch(() => undefined);
    throw e;
  }
}
