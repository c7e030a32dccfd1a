// Resume after a kill: the service runs as a separate process (main.ts) on the test's embedded S3; a
// training job is SIGKILLed after its first checkpoint, the process restarted, and the job resumes from
// the checkpoint (attempt 2, never back below the checkpointed iteration) and publishes its model.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { JobState } from "@synthmri/contracts";
import { afterAll, beforeAll, expect, it } from "vitest";
import { clients, cohort, phantomDataset, type Store, startStore, waitJob } from "./fixtures.js";

const MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url));
let store: Store;
let datasetId: string;
const procs: ChildProcess[] = [];

/** Starts main.ts and resolves with its port from the "segmenter ready" log line. */
function startProcess(): Promise<{ proc: ChildProcess; address: string }> {
  const proc = spawn(process.execPath, ["--import", "tsx", MAIN], {
    env: {
      ...process.env,
      S3_ENDPOINT: store.s3.endpoint,
      S3_ACCESS_KEY: store.s3.accessKey,
      S3_SECRET_KEY: store.s3.secretKey,
      S3_BUCKET: "synthmri",
      SEGMENTER_PORT: "0",
      SYNTHMRI_DATA_DIR: store.dir,
      LOG_LEVEL: "info",
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  procs.push(proc);
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    proc.on("exit", (code) => reject(new Error(`segmenter exited with ${code}:\n${lines.slice(-20).join("\n")}`)));
    createInterface({ input: proc.stderr! }).on("line", (line) => {
      lines.push(line);
      if (!line.includes('"segmenter ready"')) return;
      const port = JSON.parse(line).port as number;
      resolve({ proc, address: `127.0.0.1:${port}` });
    });
  });
}

beforeAll(async () => {
  store = await startStore();
  datasetId = await phantomDataset(store.artifacts, { subjects: cohort(8, 5), testSubjects: 2 });
}, 60_000);

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
  await store?.close();
});

it("a training job killed by SIGKILL resumes from its checkpoint after a restart", async () => {
  const first = await startProcess();
  const c1 = clients(first.address);
  const res = await c1.segmenter.trainSegmenter({
    name: "resume",
    sources: [{ datasetId }],
    config: {
      inputSize: 32,
      depth: 3,
      baseFilters: 4,
      deepSupervision: 2,
      epochs: 3,
      iterationsPerEpoch: 10,
      batchSize: 4,
    },
  });
  // The checkpoint is written at the end of epoch 1 (iteration 10), before iteration 11 starts.
  const killed = new Promise<void>((resolve) => first.proc.once("exit", () => resolve()));
  await waitJob(c1.jobs, res.jobId, (s) => {
    if ((s.progress?.metrics.iteration ?? 0) >= 12 && first.proc.exitCode === null) first.proc.kill("SIGKILL");
  }).catch(() => undefined); // the watch breaks with the process
  await killed;
  c1.segmenter.close();
  c1.jobs.close();

  const second = await startProcess();
  const c2 = clients(second.address);
  const seen: number[] = [];
  const last = await waitJob(c2.jobs, res.jobId, (s) => {
    // Only progress of the resumed run (the first snapshots carry the metrics persisted before the kill).
    if (s.state === JobState.RUNNING && s.progress?.message.startsWith("training run"))
      seen.push(s.progress.metrics.iteration);
  });
  expect(last.state, last.errorMessage).toBe(JobState.SUCCEEDED);
  expect(last.attempt).toBe(2);
  // A run restarted from scratch would report iterations 1..9 again.
  expect(seen.length).toBeGreaterThan(0);
  expect(Math.min(...seen)).toBeGreaterThan(10);
  expect(last.progress?.metrics.iteration).toBe(30);
  const { models } = await c2.segmenter.listModels({ jobId: res.jobId });
  expect(models.map((m) => m.id)).toEqual(res.modelIds);
  const history = await store.artifacts.readJson<{ history: { epoch: number }[] }>(
    "seg-model",
    `${res.modelIds[0]}.v1`,
    "history.json",
  );
  expect(history.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
  c2.segmenter.close();
  c2.jobs.close();
  second.proc.kill("SIGTERM");
}, 300_000);
