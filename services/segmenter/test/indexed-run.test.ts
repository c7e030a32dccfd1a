// One U-Net run as a Kubernetes Indexed Job item (what run-main.ts does in a pod): a pod killed after its first
// checkpoint is retried and resumes from that checkpoint, publishes the promised model and writes the result;
// a retry of an index that already has its result trains nothing.
import { ArtifactStore, createLogger, type ObjectStore, putWorkItems, tryReadWorkResult } from "@synthmri/platform";
import { afterAll, beforeAll, expect, it } from "vitest";
import { StoreDatasetReader } from "../src/adapters/dataset-store.js";
import { runUnetItem, type UnetRunItem, type UnetRunResult } from "../src/domain/indexed-run.js";
import { resolveTrainParams } from "../src/domain/train-params.js";
import { cohort, phantomDataset, type Store, startStore } from "./fixtures.js";

let store: Store;
let datasetId: string;

beforeAll(async () => {
  store = await startStore();
  datasetId = await phantomDataset(store.artifacts, { subjects: cohort(6, 9), testSubjects: 2 });
}, 120_000);
afterAll(async () => {
  await store?.close();
});

/** The store as a pod sees it, noting checkpoint reads and writes (and "evicting" the pod at the first write). */
function podStore(onCheckpointPut: () => void, reads: string[]): ObjectStore {
  const s = store.store;
  return new Proxy(s, {
    get(target, prop, receiver) {
      if (prop === "putObject")
        return async (key: string, ...rest: unknown[]) => {
          const r = await (target.putObject as (...a: unknown[]) => Promise<unknown>).call(target, key, ...rest);
          if (key.startsWith("checkpoints/")) onCheckpointPut();
          return r;
        };
      if (prop === "getBuffer")
        return async (key: string) => {
          const b = await target.getBuffer(key);
          if (key.startsWith("checkpoints/")) reads.push(key);
          return b;
        };
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as ObjectStore;
}

it("a run killed after its first checkpoint resumes from it when retried, then is not trained again", async () => {
  const logger = createLogger({ name: "test", level: "error" });
  const datasets = new StoreDatasetReader(store.artifacts);
  const params = await resolveTrainParams(
    datasets,
    {
      name: "kube",
      sources: [{ datasetId, split: "train", maxSlices: 0 }],
      mixture: "equal",
      validationFraction: 0.2,
      runs: 2,
      baseSeed: 3,
      config: {
        inputSize: 32,
        depth: 3,
        baseFilters: 4,
        maxFilters: 16,
        deepSupervision: 2,
        epochs: 2,
        iterationsPerEpoch: 4,
        batchSize: 2,
        learningRate: 0,
        polyExponent: 0,
        momentum: 0,
        weightDecay: 0,
      },
      augmentation: { enabled: false },
      labels: {},
    },
    "t1",
  );
  const prefix = "kube-work/test";
  const items: UnetRunItem[] = [0, 1].map((run) => ({ jobId: "kube-test", params, run }));
  await putWorkItems(store.store, prefix, items);

  const pod = (signalOnCheckpoint?: AbortController, reads: string[] = []) => {
    const objects = podStore(() => signalOnCheckpoint?.abort(new Error("pod evicted")), reads);
    const artifacts = new ArtifactStore({ store: objects });
    return { artifacts, datasets: new StoreDatasetReader(artifacts), logger };
  };
  // Attempt 1 of index 1: evicted right after its first checkpoint.
  const evict = new AbortController();
  await expect(runUnetItem(pod(evict), prefix, 1, evict.signal)).rejects.toThrow();
  expect(await tryReadWorkResult(store.store, prefix, 1)).toBeUndefined();
  // Attempt 2: reads the checkpoint (resumes), publishes the promised model and writes the result.
  const reads: string[] = [];
  const r = await runUnetItem(pod(undefined, reads), prefix, 1, new AbortController().signal);
  expect(reads).toContain("checkpoints/segmenter/kube-test/run-1.smsegst");
  expect(r.modelId).toBe(params.modelIds[1]);
  expect(await store.artifacts.tryGetManifest("seg-model", `${r.modelId}.v1`)).toBeTruthy();
  expect(await tryReadWorkResult<UnetRunResult>(store.store, prefix, 1)).toEqual(r);
  // A third pod for the same index finds the result: no training, no checkpoint read.
  const again: string[] = [];
  expect(await runUnetItem(pod(undefined, again), prefix, 1, new AbortController().signal)).toEqual(r);
  expect(again).toEqual([]);
}, 300_000);
