// The seam between the experiment runner's stages and where heavy work runs. The local executor (the default)
// is no ScaleOut at all: the stages call the services as before. The Kubernetes executor trains each U-Net run
// as one pod of an Indexed Job (services/segmenter/src/run-main.ts); the models land in the object store under
// the same ids and manifests a TrainSegmenter job would give them, so the later stages read them unchanged.
import { createHash } from "node:crypto";
import type { ObjectStore } from "@synthmri/platform";
import { resolveTrainParams, type TrainRequest, type UnetRunItem, type UnetRunResult } from "@synthmri/segmenter";
import { type JobsApi, runIndexedJob } from "./executor.js";
import type { ClusterSettings } from "./manifests.js";

export interface UnetRunsRequest extends TrainRequest {
  /** A DNS-label-safe name for the Job, unique in the experiment (e.g. "<experiment>-<condition>"). */
  jobName: string;
}

export interface ScaleOut {
  /** Trains the runs of one TrainSegmenter-like request on the cluster; the published model ids, in run order. */
  trainUnetRuns(r: UnetRunsRequest, signal?: AbortSignal): Promise<{ jobId: string; modelIds: string[] }>;
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
  return {
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
        { api: o.api, store: o.store, cluster: o.cluster, pollMs: o.pollMs, signal, onStatus: o.onStatus },
      );
      return { jobId, modelIds: results.map((x) => x.modelId) };
    },
  };
}
