// TRAIN_PROCESSES > 0: every member job trains in its own child process (runChild), reaching the test's
// embedded store through S3_* env. Two members with concurrency 2 train at once in two children; their
// checkpoints are bit-identical to the same member trained inline (cpu backend in both), the ensemble is
// committed as before, and CancelJob stops a member's child process.
import { GanFamily, JobState } from "@synthmri/contracts";
import { decodeCheckpoint } from "@synthmri/ml";
import { afterAll, beforeAll, expect, it } from "vitest";
import { StoreDatasetReader } from "../src/adapters/dataset-store.js";
import { CHECKPOINT_KIND, STATE_FILE } from "../src/domain/checkpoints.js";
import { trainMember } from "../src/domain/training.js";
import { settingsFromProto } from "../src/handlers/convert.js";
import { type Harness, startHarness, TINY, writeToyDataset } from "./fixtures.js";

let h: Harness;
const spawned: { pid: number; at: number }[] = [];

beforeAll(async () => {
  h = await startHarness((s3) => ({
    trainProcesses: {
      max: 2,
      env: {
        S3_ENDPOINT: s3.endpoint,
        S3_ACCESS_KEY: s3.accessKey,
        S3_SECRET_KEY: s3.secretKey,
        S3_BUCKET: "synthmri",
        TF_BACKEND: "cpu",
        LOG_LEVEL: "warn",
      },
      onSpawn: (pid) => spawned.push({ pid, at: Date.now() }),
    },
  }));
  await writeToyDataset(h.artifacts, "toy", { train: 64, size: 16 });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const CONFIG = { ...TINY, resolution: 8, totalKimg: 0.048, checkpointEveryKimg: 0.032 };

it("trains two members in two child processes at once; checkpoints equal an inline training", async () => {
  const finished: number[] = [];
  const unsubscribe = h.jobs.subscribe((j) => {
    if (j.kind === "train-gan" && j.state === "SUCCEEDED") finished.push(Date.now());
  });
  const res = await h.generator.trainEnsemble({
    datasetId: "toy",
    members: 2,
    baseSeed: 7,
    concurrency: 2,
    family: GanFamily.PGAN,
    config: CONFIG,
    name: "iso",
  });
  const statuses = await h.watch(res.jobId);
  unsubscribe();
  const last = statuses[statuses.length - 1];
  expect(last.errorMessage).toBe("");
  expect(last.state).toBe(JobState.SUCCEEDED);
  // Two children, neither the test process, the second started before the first member finished.
  expect(spawned).toHaveLength(2);
  expect(new Set(spawned.map((s) => s.pid)).size).toBe(2);
  expect(spawned.map((s) => s.pid)).not.toContain(process.pid);
  expect(spawned[1].at).toBeLessThan(Math.min(...finished));

  const manifest = await h.artifacts.getManifest<{ members: { index: number; seed: number; checkpointId: string }[] }>(
    "ensemble",
    res.ensembleId,
  );
  expect(manifest.members.map((m) => m.seed)).toEqual([7, 8]);
  const member1 = await h.jobClient.getJob({ jobId: res.memberJobIds[1] });
  expect(member1.job?.outputs.checkpoint_id).toBe(manifest.members[1].checkpointId);
  expect(member1.job?.progress?.metrics.kimg).toBeCloseTo(0.048, 6);

  // The same member inline, in this process: the child's weights are bit for bit the same.
  const inline = await trainMember(
    { artifacts: h.artifacts, store: h.store, datasets: new StoreDatasetReader(h.artifacts) },
    {
      ganId: "gan-inline",
      ensembleId: "gan-inline",
      member: 1,
      seed: 8,
      datasetId: "toy",
      settings: settingsFromProto(GanFamily.PGAN, CONFIG as never),
      concurrency: 1,
    },
    { signal: new AbortController().signal, progress: () => undefined },
  );
  const a = decodeCheckpoint(await h.artifacts.readFile(CHECKPOINT_KIND, manifest.members[1].checkpointId, STATE_FILE));
  const b = decodeCheckpoint(await h.artifacts.readFile(CHECKPOINT_KIND, inline.checkpointId, STATE_FILE));
  expect(a.trainer.images).toBe(b.trainer.images);
  const wa = [...a.model.generator, ...a.model.discriminator];
  const wb = [...b.model.generator, ...b.model.discriminator];
  expect(wa.map((w) => w.name)).toEqual(wb.map((w) => w.name));
  for (let i = 0; i < wa.length; i++)
    expect(Buffer.from(wa[i].data.buffer).equals(Buffer.from(wb[i].data.buffer)), wa[i].name).toBe(true);
}, 120_000);

it("CancelJob stops the member's child process", async () => {
  const before = spawned.length;
  const res = await h.generator.trainGan({
    datasetId: "toy",
    seed: 3,
    config: { ...TINY, totalKimg: 100, checkpointEveryKimg: 50 },
  });
  let cancelled = false;
  let state: JobState | undefined;
  for await (const r of h.jobClient.watchJob({ jobId: res.jobId, minIntervalMs: 1 })) {
    state = r.job?.state;
    if (!cancelled && (r.job?.progress?.metrics.kimg ?? 0) > 0) {
      cancelled = true;
      await h.jobClient.cancelJob({ jobId: res.jobId, reason: "test" });
    }
  }
  expect(state).toBe(JobState.CANCELLED);
  expect(spawned).toHaveLength(before + 1);
  // runChild settles only after the child exited (and was reaped by this process).
  expect(alive(spawned[before].pid)).toBe(false);
}, 60_000);
