// The ScaleOut an experiment spec asks for: none for the local executor, the Kubernetes one otherwise. The
// runner's object store is the one the pods use (its S3_ENDPOINT/S3_BUCKET; keys from the cluster's secret).
import { readFileSync } from "node:fs";
import { ArtifactStore, InvalidInput, type ObjectStore } from "@synthmri/platform";
import { StoreDatasetReader } from "@synthmri/segmenter";
import { kubeJobsApi } from "./executor.js";
import { type ClusterSettings, DEFAULT_CLUSTER } from "./manifests.js";
import { kubeScaleOut, type ScaleOut } from "./scale-out.js";
import type { ExecutorKind, KubernetesSpec } from "./spec.js";

const suiteVersion = (): string =>
  (JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }).version;

export function clusterSettings(k: KubernetesSpec, s3: { endpoint: string; bucket: string }): ClusterSettings {
  const secret = (key: string) => ({ secretKeyRef: { name: k.s3Secret, key } });
  return {
    ...DEFAULT_CLUSTER,
    namespace: k.namespace,
    release: k.release,
    gpus: k.gpus,
    cpuPods: k.cpuPods,
    backoffLimitPerIndex: k.backoffLimitPerIndex,
    registry: k.registry,
    repository: k.repository,
    version: k.version || suiteVersion(),
    env: [
      { name: "S3_ENDPOINT", value: s3.endpoint },
      { name: "S3_BUCKET", value: s3.bucket },
      { name: "S3_ACCESS_KEY", valueFrom: secret("accessKey") },
      { name: "S3_SECRET_KEY", valueFrom: secret("secretKey") },
    ],
  };
}

export function scaleOutForSpec(
  spec: { executor: ExecutorKind; kubernetes: KubernetesSpec },
  store: ObjectStore | undefined,
  s3: { endpoint: string; bucket: string } | undefined,
): ScaleOut | undefined {
  if (spec.executor !== "kubernetes") return undefined;
  if (!store || !s3)
    throw new InvalidInput(
      "executor: kubernetes needs the cluster's object store: set S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY (and the *_ADDR of the services)",
    );
  return kubeScaleOut({
    api: kubeJobsApi(spec.kubernetes.kubeconfig || undefined),
    store,
    datasets: new StoreDatasetReader(new ArtifactStore({ store, provenance: { service: "cli" } })),
    cluster: clusterSettings(spec.kubernetes, s3),
    pollMs: spec.kubernetes.pollSeconds * 1000,
  });
}
