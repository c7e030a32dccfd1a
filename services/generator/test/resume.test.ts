// Resume after kill -9: main.ts runs as a separate process on the test's embedded S3; a TrainGan job is
// SIGKILLed after its first checkpoint, the process restarted on the same store, and the job resumes from
// that checkpoint (attempt 2) and finishes. Its final weights equal those of an uninterrupted run with the same
// seed and settings (cpu backend in both processes).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GanFamily, GeneratorService, JobService, JobState, type JobStatus } from "@synthmri/contracts";
import { decodeCheckpoint, initBackend } from "@synthmri/ml";
import { ArtifactStore, type EmbeddedS3, type ObjectStore, startEmbeddedS3 } from "@synthmri/platform";
import { createClient } from "@synthmri/rpc";
import { afterAll, beforeAll, expect, it } from "vitest";
import { StoreDatasetReader } from "../src/adapters/dataset-store.js";
import { CHECKPOINT_KIND, checkpointId, latestCheckpoint, STATE_FILE } from "../src/domain/checkpoints.js";
import { settingsFromProto } from "../src/handlers/convert.js";
import { trainMember } from "../src/domain/training.js";
import { openStore, startGeneratorProcess, TINY, writeToyDataset } from "./fixtures.js";

let dir: string;
let s3: EmbeddedS3;
let store: ObjectStore;
let artifacts: ArtifactStore;
const procs: ChildProcess[] = [];

const startProcess = () => startGeneratorProcess(s3, dir, procs);

beforeAll(async () => {
  await initBackend({ preferred: "cpu" });
  dir = await mkdtemp(join(tmpdir(), "generator-resume-"));
  s3 = await startEmbeddedS3({ dataDir: dir });
  store = await openStore(s3);
  artifacts = new ArtifactStore({ store });
  await writeToyDataset(artifacts, "toy", { train: 64, size: 16 });
}, 60_000);

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
  await s3?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

// 8x8: 4x4 for 32 images, 8x8 fades in over 32 and stabilises; checkpoints every 32 images, 12 steps in all.
const CONFIG = { ...TINY, resolution: 8, totalKimg: 0.096, checkpointEveryKimg: 0.032 };

it("a training job killed by SIGKILL resumes from its last checkpoint and ends at the uninterrupted weights", async () => {
  const first = await startProcess();
  const g1 = createClient(GeneratorService, first.address);
  const j1 = createClient(JobService, first.address);
  const res = await g1.trainGan({ datasetId: "toy", family: GanFamily.PGAN, seed: 21, config: CONFIG });
  const killed = new Promise<void>((resolve) => first.proc.once("exit", () => resolve()));
  let killedAt = 0;
  try {
    for await (const r of j1.watchJob({ jobId: res.jobId, minIntervalMs: 1 })) {
      const m = r.job?.progress?.metrics ?? {};
      // The report after a committed checkpoint carries checkpoint_kimg: kill before the next one.
      if (m.checkpoint_kimg !== undefined && first.proc.exitCode === null) {
        killedAt = m.kimg;
        first.proc.kill("SIGKILL");
      }
    }
  } catch {
    // the watch breaks with the process
  }
  await killed;
  g1.close();
  j1.close();
  expect(killedAt).toBeGreaterThan(0);
  expect(killedAt).toBeLessThan(0.096);

  const second = await startProcess();
  const j2 = createClient(JobService, second.address);
  let last: JobStatus | undefined;
  for await (const r of j2.watchJob({ jobId: res.jobId, minIntervalMs: 1 })) last = r.job;
  j2.close();
  second.proc.kill("SIGTERM");
  expect(last?.errorMessage).toBe("");
  expect(last?.state).toBe(JobState.SUCCEEDED);
  expect(last?.attempt).toBe(2);

  const final = await latestCheckpoint(store, artifacts, res.ganId);
  expect(final?.id).toBe(checkpointId(res.ganId, 96));

  // The same training without interruption, in this process.
  const reference = await trainMember(
    { artifacts, store, datasets: new StoreDatasetReader(artifacts) },
    {
      ganId: "gan-reference",
      ensembleId: "gan-reference",
      member: 0,
      seed: 21,
      datasetId: "toy",
      settings: settingsFromProto(GanFamily.PGAN, CONFIG as never),
      concurrency: 1,
    },
    { signal: new AbortController().signal, progress: () => undefined },
  );
  expect(reference.resumedFromKimg).toBeNull();
  const a = decodeCheckpoint(await artifacts.readFile(CHECKPOINT_KIND, final!.id, STATE_FILE));
  const b = decodeCheckpoint(await artifacts.readFile(CHECKPOINT_KIND, reference.checkpointId, STATE_FILE));
  expect(a.trainer.images).toBe(b.trainer.images);
  const arrays = (c: typeof a) => [...c.model.generator, ...c.model.discriminator];
  const wa = arrays(a);
  const wb = arrays(b);
  expect(wa.length).toBe(wb.length);
  for (let i = 0; i < wa.length; i++) {
    expect(wa[i].name).toBe(wb[i].name);
    expect(Buffer.from(wa[i].data.buffer).equals(Buffer.from(wb[i].data.buffer)), wa[i].name).toBe(true);
  }
  expect(a.model.rng).toEqual(b.model.rng);
}, 180_000);

it("member-main.ts trains one ensemble member as a cluster pod would (index, seed = BASE_SEED + index, record)", async () => {
  const MEMBER = fileURLToPath(new URL("../src/member-main.ts", import.meta.url));
  const proc = spawn(process.execPath, ["--import", "tsx", MEMBER], {
    env: {
      ...process.env,
      S3_ENDPOINT: s3.endpoint,
      S3_ACCESS_KEY: s3.accessKey,
      S3_SECRET_KEY: s3.secretKey,
      S3_BUCKET: "synthmri",
      SYNTHMRI_DATA_DIR: dir,
      TF_BACKEND: "cpu",
      LOG_LEVEL: "warn",
      ENSEMBLE_ID: "ens-k8s",
      ENSEMBLE_MEMBERS: "3",
      DATASET_ID: "toy",
      BASE_SEED: "40",
      JOB_COMPLETION_INDEX: "1",
      GAN_RESOLUTION: "8",
      GAN_KIMG: "0.016",
      GAN_SETTINGS_JSON: JSON.stringify({ latentDim: 8, fmapMax: 8, fmapMin: 4, kimgPerPhase: 0.008, batchSize: 8 }),
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  procs.push(proc);
  let stderr = "";
  proc.stderr?.on("data", (d) => {
    stderr += String(d);
  });
  const code = await new Promise<number | null>((resolve) => proc.once("exit", resolve));
  expect(code, stderr.slice(-2000)).toBe(0);
  const latest = await latestCheckpoint(store, artifacts, "ens-k8s-m1");
  expect(latest?.manifest).toMatchObject({ seed: 41, member: 1, ensembleId: "ens-k8s", final: true, resolution: 8 });
  const record = JSON.parse((await store.getBuffer("generator/ensembles/ens-k8s.json")).toString());
  expect(record.members.map((m: { seed: number }) => m.seed)).toEqual([40, 41, 42]);
}, 120_000);
