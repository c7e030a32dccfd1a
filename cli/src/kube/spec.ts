// The experiment spec's `executor` and `kubernetes` sections: where GAN members and U-Net runs train. "local" (the
// default) keeps today's behaviour (the generator and segmenter services train them); "kubernetes" fans them out
// as Indexed Jobs, one pod per member or run.
export type ExecutorKind = "local" | "kubernetes";

export interface KubernetesSpec {
  namespace: string;
  /** The synthmri Helm release (pods get its instance label, so its NetworkPolicies admit them). */
  release: string;
  /** GPUs one Job's members or runs may use at once (one per pod); 0 = CPU pods, `cpuPods` at once. */
  gpus: number;
  cpuPods: number;
  backoffLimitPerIndex: number;
  registry: string;
  repository: string;
  /** Image tag; "" = the suite's version. */
  version: string;
  /** kubeconfig file; "" = in-cluster config (the runner's ServiceAccount) or the default kubeconfig. */
  kubeconfig: string;
  /** Secret holding accessKey/secretKey for the pods' S3_ACCESS_KEY/S3_SECRET_KEY (the Helm chart's). */
  s3Secret: string;
  /** How often a Job's status is read, in seconds. */
  pollSeconds: number;
}

export const EXECUTOR_SCHEMA = {
  type: "string",
  enum: ["local", "kubernetes"],
  default: "local",
  description:
    "where GAN members and U-Net runs train: local (the generator and segmenter services) or kubernetes (one pod per member or run)",
} as const;

export const KUBERNETES_SCHEMA = {
  type: "object",
  additionalProperties: false,
  default: {},
  properties: {
    namespace: { type: "string", pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", default: "default" },
    release: { type: "string", pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", default: "synthmri" },
    gpus: { type: "integer", minimum: 0, default: 0 },
    cpuPods: { type: "integer", minimum: 1, default: 1 },
    backoffLimitPerIndex: { type: "integer", minimum: 0, default: 3 },
    registry: { type: "string", default: "registry.hospital.local" },
    repository: { type: "string", default: "synthmri" },
    version: { type: "string", default: "" },
    kubeconfig: { type: "string", default: "" },
    s3Secret: { type: "string", default: "synthmri-s3" },
    pollSeconds: { type: "number", exclusiveMinimum: 0, default: 5 },
  },
} as const;
