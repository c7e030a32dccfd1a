// The seam between the experiment runner's stages and where heavy work runs. The local executor (the default)
// is no ScaleOut at all: the stages call the services as before. The Kubernetes executor trains each U-Net run
// as one pod of an Indexed Job (services/segmenter/src/run-main.ts) and each GAN ensemble member as one pod of
// another (services/generator/src/member-main.ts); models, checkpoints and the ensemble land in the object store
// under the same ids and manifests a TrainSegmenter / TrainEnsemble job would give them, so the later stages (and
// the generator's sampling) read them unchanged.
import { createHash } from "node:crypto";
import type { TrainEnsembleRequest } from "@synthmri/contracts";
import {
  commitEnsemble,
  EnsembleRegistry,
  type GanMemberItem,
  type GanMemberResult,
  StoreDatasetReader as GanDatasetReader,
  planClusterEnsemble,
  settingsFromProto,
} from "@synthmri/generator";
import { ArtifactStore, type ObjectStore } from "@synthmri/platform";
import { resolveTrainParams, type TrainRequest, type UnetRunItem, type UnetRunResult } from "@synthmri/segmenter";
import { type JobsApi, runIndexedJob } from "./executor.js";
import type { ClusterSettings } from "./manifests.js";

export interface UnetRunsRequest extends TrainRequest {
  /** A DNS-label-safe name for the Job, unique in the experiment (e.g. "<experiment>-<condition>"). */
  jobName: string;
}

/** A TrainEnsemble request (what the GAN stage would send the generator) and the Job's name. */
export type GanEnsembleRequest = Partial<Omit<TrainEnsembleRequest, "$typeName" | "config">> & {
  config?: Parameters<typeof settingsFromProto>[1];
  /** A DNS-label-safe name for the Job, unique in the experiment (e.g. "<experiment>-ensemble"). */
  jobName: string;
};

export interface ScaleOut {
  /** Trains the runs of one TrainSegmenter-like request on the cluster; the published model ids, in run order. */
  trainUnetRuns(r: UnetRunsRequest, signal?: AbortSignal): Promise<{ jobId: string; modelIds: string[] }>;
  /**
   * Trains an ensemble's members on the cluster (one pod each) and commits the ensemble, as TrainEnsemble would;
   * the ensemble id the generator service then samples from. `concurrency` does not apply (the Job's parallelism
   * is the cluster's GPUs, or cpuPods).
   */
  trainGanEnsemble(r: GanEnsembleRequest, signal?: AbortSignal): Promise<{ ensembleId: string; jobId: string }>;
}

/** Reads dataset manifests (to resolve the request as the segmenter service would): a StoreDatasetReader. */
export type DatasetManifests = Parameters<typeof resolveTrainParams>[0];

export interface KubeScaleOutOptions {
  api: JobsApi;
  store: ObjectStore;
  datasets: DatasetManifests;
  cluster: ClusterSettings;
  pollMs?: number;
  onStatus?: (s: { name: string; succeeded: number; total: number }) => void;
}

/** Job name -> a DNS label (lower case, '-', at most 63 characters; a long one ends in a hash of the whole). */
export function jobNameOf(...parts: string[]): string {
  const s = parts
    .join("-")
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "");
  if (s.length <= 63) return s || "synthmri";
  // Too long: keep a readable head and make the name unique with a hash of the whole.
  const hash = createHash("sha256").update(s).digest("hex").slice(0, 10);
  return `${s.slice(0, 52).replace(/-$/, "")}-${hash}`;
}

export function kubeScaleOut(o: KubeScaleOutOptions): ScaleOut {
  const executor = (signal?: AbortSignal) => ({
    api: o.api,
    store: o.store,
    cluster: o.cluster,
    pollMs: o.pollMs,
    signal,
    onStatus: o.onStatus,
  });
  const artifacts = new ArtifactStore({ store: o.store, provenance: { service: "cli" } });
  const ganDatasets = new GanDatasetReader(artifacts);
  const ensembles = new EnsembleRegistry(o.store);
  return {
    async trainGanEnsemble(r, signal) {
      const jobName = jobNameOf("gan", r.jobName);
      // The Job name fixes the ensemble id, so a restarted runner follows the same Job and the same ensemble.
      const ensembleId = `kube-${jobName}`;
      // The generator's own conversion of the request (defaults included), so the members train with exactly
      // the settings a TrainEnsemble of the same request would resolve.
      const settings = settingsFromProto(r.family ?? 0, r.config);
      const { record, items } = await planClusterEnsemble(ganDatasets, ensembleId, {
        datasetId: r.datasetId ?? "",
        members: r.members ?? 0,
        baseSeed: r.baseSeed ?? 0,
        concurrency: 1,
        settings,
        name: r.name ?? "",
      });
      // The record first: GetEnsemble lists the members (state from their checkpoints) while the pods train.
      if (!(await ensembles.tryGet(ensembleId))) await ensembles.save(record);
      await runIndexedJob<GanMemberItem, GanMemberResult>(
        {
          name: jobName,
          service: "generator",
          component: "gan-member",
          entrypoint: "services/generator/src/member-main.ts",
          items,
          prefix: `kube-work/${jobName}`,
        },
        executor(signal),
      );
      await commitEnsemble(
        { artifacts, store: o.store, datasets: ganDatasets, provenance: { executor: "kubernetes", job: jobName } },
        record,
      );
      return { ensembleId, jobId: `kube-${jobName}` };
    },

    async trainUnetRuns(r, signal) {
      const jobName = jobNameOf("unet", r.jobName);
      const jobId = `kube-${jobName}`;
      // The tag makes the model ids; the Job name fixes it, so a restarted runner promises the same ids.
      const params = await resolveTrainParams(o.datasets, r, jobName.slice(-12));
      const items: UnetRunItem[] = Array.from({ length: params.runs }, (_, run) => ({ jobId, params, run }));
      const results = await runIndexedJob<UnetRunItem, UnetRunResult>(
        {
          name: jobName,
          service: "segmenter",
          component: "unet-run",
          entrypoint: "services/segmenter/src/run-main.ts",
          items,
          prefix: `kube-work/${jobName}`,
        },
        executor(signal),
      );
      return { jobId, modelIds: results.map((x) => x.modelId) };
    },
  };
}
