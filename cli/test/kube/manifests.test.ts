// The Indexed Job builder: one pod per item, one GPU each when GPUs are configured, parallelism = GPUs, per-index
// retries, the item's env, the suite's image names; and every manifest it builds validates against the Kubernetes
// OpenAPI schemas (kubernetes-models, the same check scripts/check-deploy.mjs applies to the Helm chart).
import { Job } from "kubernetes-models/batch/v1/Job";
import { describe, expect, it } from "vitest";
import { buildIndexedJob, type ClusterSettings, DEFAULT_CLUSTER, imageName, type IndexedWork } from "../../src/kube/manifests.js";

const unet: IndexedWork = {
  name: "unet-exp1-mixed",
  service: "segmenter",
  component: "unet-run",
  entrypoint: "services/segmenter/src/run-main.ts",
  completions: 10,
  env: { WORK_PREFIX: "kube-work/exp1/unet-mixed" },
};
const gan: IndexedWork = {
  name: "gan-exp1",
  service: "generator",
  component: "gan-member",
  entrypoint: "services/generator/src/member-main.ts",
  completions: 20,
  env: { ENSEMBLE_ID: "exp1", DATASET_ID: "d1", BASE_SEED: "7", GAN_RESOLUTION: "128", GAN_KIMG: "10" },
};
const gpu8: ClusterSettings = {
  ...DEFAULT_CLUSTER,
  namespace: "synthmri",
  gpus: 8,
  backoffLimitPerIndex: 4,
  env: [
    { name: "S3_ENDPOINT", value: "http://minio:9000" },
    { name: "S3_SECRET_KEY", valueFrom: { secretKeyRef: { name: "synthmri-s3", key: "secretKey" } } },
  ],
};

const container = (w: IndexedWork, c: ClusterSettings) => {
  const c0 = buildIndexedJob(w, c).spec?.template.spec?.containers[0];
  if (!c0) throw new Error("no container");
  return c0;
};

describe("buildIndexedJob", () => {
  it("makes an Indexed Job with one pod per item, one GPU per pod and as many pods at once as GPUs", () => {
    const job = buildIndexedJob(unet, gpu8);
    expect(job.spec?.completionMode).toBe("Indexed");
    expect(job.spec?.completions).toBe(10);
    expect(job.spec?.parallelism).toBe(8);
    expect(job.spec?.backoffLimitPerIndex).toBe(4);
    expect(job.spec?.template.spec?.restartPolicy).toBe("Never");
    // the release's NetworkPolicies admit only its own pods to the object store
    expect(job.spec?.template.metadata?.labels).toMatchObject({ "app.kubernetes.io/instance": "synthmri" });
    const c = container(unet, gpu8);
    expect(c.resources?.limits).toEqual({ "nvidia.com/gpu": "1" });
    expect(c.image).toBe("registry.hospital.local/synthmri/segmenter-cuda:0.1.0");
    expect(c.command).toEqual(["node", "--import", "tsx", "services/segmenter/src/run-main.ts"]);
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toMatchObject({
      SERVICE: "segmenter",
      WORK_PREFIX: "kube-work/exp1/unet-mixed",
      S3_ENDPOINT: "http://minio:9000",
      TF_BACKEND: "tensorflow-gpu",
    });
    expect(env.S3_SECRET_KEY).toEqual({ secretKeyRef: { name: "synthmri-s3", key: "secretKey" } });
  });

  it("asks for no GPU and uses the CPU image when none is configured; never more pods than items", () => {
    const cpu = { ...DEFAULT_CLUSTER, cpuPods: 4 };
    const c = container(gan, cpu);
    expect(c.resources).toBeUndefined();
    expect(c.image).toBe("registry.hospital.local/synthmri/generator:0.1.0");
    expect(c.env?.some((e) => e.name === "TF_BACKEND")).toBe(false);
    expect(buildIndexedJob(gan, cpu).spec?.parallelism).toBe(4);
    expect(buildIndexedJob({ ...unet, completions: 3 }, gpu8).spec?.parallelism).toBe(3);
  });

  it("names images <registry>/<repository>/<service>[-cuda]:<version>", () => {
    expect(imageName({ registry: "r.example", repository: "synthmri", version: "1.2.3" }, "generator", true)).toBe(
      "r.example/synthmri/generator-cuda:1.2.3",
    );
    expect(imageName({ registry: "", repository: "synthmri", version: "1.2.3" }, "segmenter", false)).toBe(
      "synthmri/segmenter:1.2.3",
    );
  });

  it("refuses a name Kubernetes would refuse and an empty Job", () => {
    expect(() => buildIndexedJob({ ...unet, name: "Unet_Exp" }, gpu8)).toThrow(/DNS label/);
    expect(() => buildIndexedJob({ ...unet, completions: 0 }, gpu8)).toThrow(/at least one item/);
  });

  it("builds manifests that validate against the Kubernetes batch/v1 Job schema", () => {
    for (const [w, c] of [
      [unet, gpu8],
      [gan, gpu8],
      [unet, DEFAULT_CLUSTER],
      [gan, { ...DEFAULT_CLUSTER, nodeSelector: { "nvidia.com/gpu.present": "true" } }],
    ] as const) {
      expect(() => new Job(buildIndexedJob(w, c) as ConstructorParameters<typeof Job>[0]).validate()).not.toThrow();
    }
    // The check can fail: a wrong type is caught.
    const bad = buildIndexedJob(unet, gpu8) as unknown as { spec: { completions: unknown } };
    bad.spec.completions = "ten";
    expect(() => new Job(bad as ConstructorParameters<typeof Job>[0]).validate()).toThrow();
  });
});
