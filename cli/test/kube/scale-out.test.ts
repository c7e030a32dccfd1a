// The Kubernetes ScaleOut: a U-Net request becomes one pod per run whose items carry the resolved TrainParams
// (the model ids the segmenter service would promise), and the models come back in run order.
import { BatchV1Api, KubeConfig, type V1Job } from "@kubernetes/client-node";
import { MemoryObjectStore, putWorkResult, readWorkItem } from "@synthmri/platform";
import type { UnetRunItem } from "@synthmri/segmenter";
import { afterEach, expect, it } from "vitest";
import { DEFAULT_CLUSTER } from "../../src/kube/manifests.js";
import { type DatasetManifests, jobNameOf, kubeScaleOut } from "../../src/kube/scale-out.js";
import { type FakeKube, startFakeKube } from "./fake-kube-api.js";

let kube: FakeKube | undefined;
afterEach(async () => {
  await kube?.close();
  kube = undefined;
});

it("trains each run of a condition as one pod and returns the promised model ids in run order", async () => {
  const store = new MemoryObjectStore("b");
  await store.ensureBucket();
  const seen: UnetRunItem[] = [];
  kube = await startFakeKube(async (job: V1Job, index) => {
    const prefix = job.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === "WORK_PREFIX")?.value ?? "";
    const item = await readWorkItem<UnetRunItem>(store, prefix, index);
    seen.push(item);
    const modelId = item.params.modelIds[item.run] ?? "";
    await putWorkResult(store, prefix, index, { modelId, ref: { bucket: "b", key: `m/${modelId}`, etag: "" } });
  });
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser({ name: "fake", server: kube.url, skipTLSVerify: true }, { name: "runner" });
  const datasets = { manifest: async () => ({ sliceShape: [32, 32] }) } as unknown as DatasetManifests;
  const scaleOut = kubeScaleOut({
    api: kc.makeApiClient(BatchV1Api),
    store,
    datasets,
    cluster: { ...DEFAULT_CLUSTER, gpus: 2 },
    pollMs: 5,
  });
  const got = await scaleOut.trainUnetRuns({
    jobName: jobNameOf("exp1", "Mixed_50"),
    name: "mixed",
    sources: [{ datasetId: "d1", split: "train", maxSlices: 0 }],
    mixture: "equal",
    validationFraction: 0.2,
    runs: 3,
    baseSeed: 5,
    config: {
      inputSize: 32,
      depth: 3,
      baseFilters: 4,
      maxFilters: 16,
      deepSupervision: 0,
      epochs: 1,
      iterationsPerEpoch: 2,
      batchSize: 2,
      learningRate: 0,
      polyExponent: 0,
      momentum: 0,
      weightDecay: 0,
    },
    augmentation: { enabled: false },
    labels: { condition: "mixed" },
  });
  expect(got.jobId).toBe("kube-unet-exp1-mixed-50");
  expect(got.modelIds).toHaveLength(3);
  expect(new Set(got.modelIds).size).toBe(3);
  expect(seen.map((s) => s.run).sort()).toEqual([0, 1, 2]);
  expect(seen.every((s) => s.jobId === got.jobId && s.params.inputSize === 32 && s.params.baseSeed === 5)).toBe(true);
  expect(got.modelIds).toEqual(seen[0]?.params.modelIds);
}, 60_000);

it("makes Job names DNS labels, unique even when long names are cut", () => {
  expect(jobNameOf("Exp_1", "real:run1")).toBe("exp-1-real-run1");
  const long = "e".repeat(60);
  const a = jobNameOf(long, "mixed:run1");
  const b = jobNameOf(long, "mixed:run10");
  expect(a).not.toBe(b);
  for (const n of [a, b]) expect(n).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
});
