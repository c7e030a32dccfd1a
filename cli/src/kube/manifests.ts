// Indexed Job manifests for the work the experiment runner fans out on Kubernetes: one pod per GAN member or
// U-Net run (JOB_COMPLETION_INDEX picks the item), one GPU per pod when GPUs are configured, as many pods at once as
// there are GPUs, and a failed index retried on its own (backoffLimitPerIndex) from its checkpoint in the object
// store. The shape follows deploy/helm/synthmri/templates/gan-ensemble-job.yaml.
import type { V1EnvVar, V1Job } from "@kubernetes/client-node";

export type ScaleOutService = "generator" | "segmenter";

export interface ClusterSettings {
  namespace: string;
  /** The Helm release the pods belong to: its NetworkPolicies let only the release's pods reach the object store. */
  release: string;
  /** Image registry and repository: images are <registry>/<repository>/<service>[-cuda]:<version>. */
  registry: string;
  repository: string;
  version: string;
  /** GPUs the work may use at once: the Job's parallelism, one per pod. 0: CPU pods (parallelism cpuPods). */
  gpus: number;
  /** Pods at once when gpus is 0. */
  cpuPods: number;
  gpuResourceName: string;
  /** Retries of one failed index before the Job gives up on it. */
  backoffLimitPerIndex: number;
  /** Env every pod gets besides its item's (S3_*, LOG_LEVEL...): plain values or secret references. */
  env: V1EnvVar[];
  nodeSelector?: Record<string, string>;
  imagePullPolicy?: string;
}

export const DEFAULT_CLUSTER: ClusterSettings = {
  namespace: "default",
  release: "synthmri",
  registry: "registry.hospital.local",
  repository: "synthmri",
  version: "0.1.0",
  gpus: 0,
  cpuPods: 1,
  gpuResourceName: "nvidia.com/gpu",
  backoffLimitPerIndex: 3,
  env: [],
  imagePullPolicy: "IfNotPresent",
};

export function imageName(
  c: Pick<ClusterSettings, "registry" | "repository" | "version">,
  service: ScaleOutService,
  cuda: boolean,
): string {
  return `${c.registry ? `${c.registry}/` : ""}${c.repository}/${service}${cuda ? "-cuda" : ""}:${c.version}`;
}

export interface IndexedWork {
  /** The Job's name (a DNS label: lower case, digits, '-'; at most 63 characters). */
  name: string;
  service: ScaleOutService;
  component: "gan-member" | "unet-run";
  /** Entry point inside the image, relative to the app root. */
  entrypoint: string;
  completions: number;
  env: Record<string, string>;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function buildIndexedJob(work: IndexedWork, c: ClusterSettings): V1Job {
  if (!DNS_LABEL.test(work.name)) throw new Error(`Job name "${work.name}" is not a DNS label (a-z, 0-9, '-', <= 63)`);
  if (!Number.isInteger(work.completions) || work.completions < 1)
    throw new Error(`an Indexed Job needs at least one item, got ${work.completions}`);
  const gpu = c.gpus > 0;
  const parallelism = Math.min(work.completions, gpu ? c.gpus : Math.max(1, c.cpuPods));
  const labels = {
    "app.kubernetes.io/part-of": "synthmri",
    "app.kubernetes.io/instance": c.release,
    "app.kubernetes.io/component": work.component,
    "app.kubernetes.io/version": c.version,
    "app.kubernetes.io/managed-by": "synthmri-experiment",
  };
  const env: V1EnvVar[] = [
    { name: "SERVICE", value: work.service },
    ...Object.entries(work.env).map(([name, value]) => ({ name, value })),
    ...c.env,
    ...(gpu ? [{ name: "TF_BACKEND", value: "tensorflow-gpu" }] : []),
  ];
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: work.name, namespace: c.namespace, labels },
    spec: {
      completionMode: "Indexed",
      completions: work.completions,
      parallelism,
      backoffLimitPerIndex: c.backoffLimitPerIndex,
      maxFailedIndexes: work.completions,
      podFailurePolicy: {
        // Node drain / preemption is not the item's fault: retry without counting it.
        rules: [{ action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] }],
      },
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001 },
          ...(c.nodeSelector ? { nodeSelector: c.nodeSelector } : {}),
          containers: [
            {
              name: work.component,
              image: imageName(c, work.service, gpu),
              imagePullPolicy: c.imagePullPolicy,
              command: ["node", "--import", "tsx", work.entrypoint],
              env,
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ["ALL"] },
              },
              volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
              ...(gpu
                ? { resources: { limits: { [c.gpuResourceName]: "1" }, requests: { [c.gpuResourceName]: "1" } } }
                : {}),
            },
          ],
          volumes: [{ name: "tmp", emptyDir: {} }],
        },
      },
    },
  };
}
