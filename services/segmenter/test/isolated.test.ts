// TRAIN_PROCESSES > 0: each run of a TrainSegmenter job trains in its own child process (runChild), reaching
// the test's embedded store through S3_* env. Two runs train at once in two children and publish the same
// models as inline training (weights bit for bit, same backend); CancelJob stops the children and publishes
// nothing.
import { JobState } from "@synthmri/contracts";
import { backendInfo, initBackend } from "@synthmri/ml";
import { JobRunner } from "@synthmri/platform";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadJobTrainingSet, trainRun } from "../src/domain/train-job.js";
import type { TrainParams } from "../src/domain/types.js";
import { startServer, type StartedServer } from "../src/server.js";
import { clients, cohort, phantomDataset, type Store, startStore, waitJob } from "./fixtures.js";
import { StoreDatasetReader } from "../src/adapters/dataset-store.js";

let store: Store;
let server: StartedServer;
let jobs: JobRunner;
let c: ReturnType<typeof clients>;
let datasetId: string;
const spawned: { pid: number; at: number }[] = [];

beforeAll(async () => {
  await initBackend({});
  store = await startStore();
  datasetId = await phantomDataset(store.artifacts, { subjects: cohort(6, 5), testSubjects: 2 });
  jobs = new JobRunner({ store: store.store, service: "segmenter", persistIntervalMs: 50 });
  server = await startServer({
    artifacts: store.artifacts,
    jobs,
    trainProcesses: {
      max: 2,
      env: {
        S3_ENDPOINT: store.s3.endpoint,
        S3_ACCESS_KEY: store.s3.accessKey,
        S3_SECRET_KEY: store.s3.secretKey,
        S3_BUCKET: "synthmri",
        // The children compute on this process's backend, so their weights can be compared with inline ones.
        TF_BACKEND: backendInfo()?.name ?? "auto",
        LOG_LEVEL: "warn",
      },
      onSpawn: (pid) => spawned.push({ pid, at: Date.now() }),
    },
  });
  c = clients(server.address);
}, 60_000);

afterAll(async () => {
  c?.segmenter.close();
  c?.jobs.close();
  await server?.close(1000);
  await store?.close();
});

const TINY = { inputSize: 32, depth: 2, baseFilters: 4, deepSupervision: 1, iterationsPerEpoch: 6, batchSize: 4 };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

it("trains 2 runs in 2 child processes at once and publishes the models inline training would", async () => {
  const res = await c.segmenter.trainSegmenter({
    name: "iso",
    sources: [{ datasetId }],
    runs: 2,
    baseSeed: 11,
    config: { ...TINY, epochs: 1 },
  });
  let firstRunEnded = Number.POSITIVE_INFINITY;
  const last = await waitJob(c.jobs, res.jobId, (s) => {
    // With one epoch, the first epoch report is the end of a run.
    if (s.progress?.metrics.epoch_loss !== undefined) firstRunEnded = Math.min(firstRunEnded, Date.now());
  });
  expect(last.errorMessage).toBe("");
  expect(last.state).toBe(JobState.SUCCEEDED);
  expect(spawned).toHaveLength(2);
  expect(new Set(spawned.map((s) => s.pid)).size).toBe(2);
  expect(spawned.map((s) => s.pid)).not.toContain(process.pid);
  expect(spawned[1].at).toBeLessThan(firstRunEnded);
  expect(Object.keys(last.outputs).sort()).toEqual(["model_0", "model_1"]);
  const listed = await c.segmenter.listModels({ jobId: res.jobId });
  expect(listed.models.map((m) => m.id).sort()).toEqual(res.modelIds.slice().sort());

  // Run 1 trained inline in this process: same weights, same validation Dice.
  const p = (await jobs.get(res.jobId)).params as TrainParams;
  const inlineParams: TrainParams = { ...p, modelIds: ["inline-0", "inline-1"] };
  const datasets = new StoreDatasetReader(store.artifacts);
  const { set, inputs } = await loadJobTrainingSet(datasets, inlineParams, new AbortController().signal);
  await trainRun({ artifacts: store.artifacts, datasets }, set, inputs, {
    jobId: "inline-job",
    params: inlineParams,
    run: 1,
    signal: new AbortController().signal,
    logger: { info: () => undefined },
    onProgress: () => undefined,
  });
  const child = await server.deps.models.manifest(res.modelIds[1], 1);
  const inline = await server.deps.models.manifest("inline-1", 1);
  expect(child.model.seed).toBe(inline.model.seed);
  expect(child.model.validationDice).toEqual(inline.model.validationDice);
  expect(child.inputs).toEqual(inline.inputs);
  const a = await server.deps.models.weights(child);
  const b = await server.deps.models.weights(inline);
  expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
}, 120_000);

it("CancelJob stops the run children and publishes nothing", async () => {
  const before = spawned.length;
  const res = await c.segmenter.trainSegmenter({
    name: "cancel",
    sources: [{ datasetId }],
    runs: 2,
    config: { ...TINY, epochs: 200 },
  });
  let cancelled = false;
  const last = await waitJob(c.jobs, res.jobId, (s) => {
    if (!cancelled && (s.progress?.metrics.iteration ?? 0) > 0) {
      cancelled = true;
      void c.jobs.cancelJob({ jobId: res.jobId, reason: "test" });
    }
  });
  expect(last.state).toBe(JobState.CANCELLED);
  const mine = spawned.slice(before);
  expect(mine).toHaveLength(2);
  // The job ends only after its children exited.
  for (const s of mine) expect(alive(s.pid)).toBe(false);
  expect((await c.segmenter.listModels({ jobId: res.jobId })).models).toEqual([]);
}, 60_000);
