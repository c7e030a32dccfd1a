// The partner flow's sampler over the generator's own sampling API (domain/sampling.ts): every member's latest
// committed checkpoint, counts split equally, uint8 slices with the mask at the ingest levels; the gate's real
// slices come from the dataset reader (the ensemble's training dataset, train split only).
import { asDatasetManifest, countSelected, DATASET_KIND } from "@synthmri/volume";
import { CHECKPOINT_KIND, type CheckpointFields } from "../../domain/checkpoints.js";
import { ENSEMBLE_KIND } from "../../domain/ensembles.js";
import type { EnsembleInfo, PartnerSampleBatch, PartnerSampler, RealSlices } from "../domain/ports.js";
import { generateSamples, resolveSource, type SamplingDeps } from "../../domain/sampling.js";

const BATCH = 32;

export class GeneratorPartnerSampler implements PartnerSampler {
  constructor(private readonly deps: SamplingDeps) {}

  async describe(ensembleId: string): Promise<EnsembleInfo> {
    const src = await resolveSource(this.deps, { ensembleId });
    const members = await Promise.all(
      src.members.map(async (m) => {
        const manifest = await this.deps.artifacts.tryGetManifest<CheckpointFields>(CHECKPOINT_KIND, m.checkpointId);
        return { index: m.index, ganId: m.ganId, checkpointKimg: m.kimg, swd: manifest?.swd ?? null };
      }),
    );
    const r = src.record;
    return {
      ensembleId: r.id,
      datasetId: r.datasetId,
      resolution: src.resolution,
      members,
      name: r.name,
      family: r.settings.family ?? "",
      createdAt: r.createdAt,
      training: await this.trainingSize(r.datasetId),
    };
  }

  /** Train-split subjects and slices of the dataset (from its manifest; zeros when it is gone). */
  private async trainingSize(datasetId: string): Promise<{ subjects: number; slices: number }> {
    const manifest = await this.deps.artifacts.tryGetManifest(DATASET_KIND, datasetId).catch(() => undefined);
    if (!manifest) return { subjects: 0, slices: 0 };
    const m = asDatasetManifest(manifest);
    return {
      subjects: m.subjects.filter((s) => s.split === "train").length,
      slices: countSelected(m, { split: "train" }),
    };
  }

  async listEnsembles(): Promise<string[]> {
    const records = await this.deps.registry.list();
    const out: string[] = [];
    for (const r of records) {
      if (r.single) continue;
      if (await this.deps.artifacts.tryGetManifest(ENSEMBLE_KIND, r.id)) out.push(r.id);
    }
    return out;
  }

  async *sample(
    ensembleId: string,
    count: number,
    seed: number,
    signal?: AbortSignal,
  ): AsyncGenerator<PartnerSampleBatch> {
    const it = generateSamples(
      this.deps,
      { source: { ensembleId }, count, seed, batchSize: BATCH, dtype: "uint8", labelScheme: "brats2020" },
      { signal },
    );
    for await (const b of it) {
      yield {
        count: b.count,
        size: b.size,
        channels: b.channels,
        data: b.data as Uint8Array,
        origins: b.provenance.map((p) => ({
          ensembleId: p.ensembleId,
          member: p.member,
          ganId: p.ganId,
          checkpointKimg: p.checkpointKimg,
          seed: p.seed,
          index: p.index,
        })),
      };
    }
  }

  async realTrainSlices(datasetId: string, size: number, signal?: AbortSignal): Promise<RealSlices> {
    const r = await this.deps.datasets.loadTrain(datasetId, { size, signal });
    return { n: r.count, h: r.size, w: r.size, c: r.channels, data: r.data };
  }
}
