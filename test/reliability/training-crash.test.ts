// kill -9 during training (issue 17 standing suite; issue 21's cross-process resume), against the production
// entrypoints: a TrainGan job of every generator family and a TrainSegmenter job are SIGKILLed with their service
// after a committed checkpoint (training inline in the service, or in its training child with TRAIN_PROCESSES=1),
// the service is restarted on the same store, and the job resumes from that checkpoint (attempt 2, not from
// scratch) and ends at the weights of an uninterrupted job with the same seed: the design promises exact resume
// (batch order, noise and optimizer state are checkpointed). Tiny nets, a few seconds of training each.
import { createHash } from "node:crypto";
import {
  GanFamily,
  GeneratorService,
  JobService,
  JobState,
  type JobStatus,
  SegmenterService,
} from "@synthmri/contracts";
import { decodeCheckpoint } from "@synthmri/ml";
import { ArtifactStore, MinioObjectStore, type ServiceName } from "@synthmri/platform";
import { createClient } from "@synthmri/rpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHECKPOINT_KIND, latestCheckpoint, STATE_FILE } from "../../services/generator/src/domain/checkpoints.js";
import { TINY, writeToyDataset } from "../../services/generator/test/fixtures.js";
import { cohort, phantomDataset } from "../../services/segmenter/test/fixtures.js";
import { type Rig, startRig } from "./rig.js";

let rig: Rig;
let store: MinioObjectStore;
let artifacts: ArtifactStore;
let segDatasetId = "";
const trainProcesses: Partial<Record<ServiceName, string>> = {};

beforeAll(async () => {
  rig = await startRig({ services: ["generator", "segmenter"] });
  for (const s of ["generator", "segmenter"] as const) trainProcesses[s] = "0";
  store = new MinioObjectStore({ ...rig.s3, bucket: "synthmri" });
  await store.ensureBucket();
  artifacts = new ArtifactStore({ store });
  await writeToyDataset(artifacts, "toy", { train: 32, size: 16 });
  segDatasetId = await phantomDataset(artifacts, { subjects: cohort(6, 5, [48, 48, 24]), testSubjects: 2 });
}, 240_000);
afterAll(async () => {
  await rig?.close();
});

/** Restarts `service` (SIGTERM) when it runs with another TRAIN_PROCESSES than wanted. */
async function ensureTrainProcesses(service: ServiceName, value: string): Promise<void> {
  if (trainProcesses[service] === value) return;
  const p = rig.processes.get(service)!;
  p.proc.kill("SIGTERM");
  await p.exited;
  await rig.start(service, { TRAIN_PROCESSES: value });
  trainProcesses[service] = value;
}

/**
 * Watches `jobId` and SIGKILLs the service the first time `killNow` says so; restarts it on the same store
 * (same TRAIN_PROCESSES) and watches the job to its end. Returns every status of the restarted process's watch.
 */
async function killAndResume(
  service: ServiceName,
  jobId: string,
  killNow: (s: JobStatus) => boolean,
): Promise<{ killedAt: JobStatus; after: JobStatus[]; log: string }> {
  const first = rig.processes.get(service)!;
  const jobs = createClient(JobService, rig.address[service], { retry: false });
  let killedAt: JobStatus | undefined;
  try {
    for await (const r of jobs.watchJob({ jobId, minIntervalMs: 1 }, { deadlineMs: CASE_TIMEOUT_MS })) {
      if (!killedAt && r.job && killNow(r.job)) {
        killedAt = r.job;
        first.proc.kill("SIGKILL");
      }
    }
  } catch {
    // the watch breaks with the process
  } finally {
    jobs.close();
  }
  await first.exited;
  if (!killedAt) throw new Error(`${service} job ${jobId} ended before the kill point`);
  expect(first.proc.signalCode).toBe("SIGKILL");
  const second = await rig.start(service, { TRAIN_PROCESSES: trainProcesses[service]! });
  const again = createClient(JobService, rig.address[service], { retry: false });
  const after: JobStatus[] = [];
  try {
    for await (const r of again.watchJob({ jobId, minIntervalMs: 1 }, { deadlineMs: CASE_TIMEOUT_MS }))
      if (r.job) after.push(r.job);
  } finally {
    again.close();
  }
  return { killedAt, after, log: second.stderr() };
}

async function watchToEnd(service: ServiceName, jobId: string): Promise<JobStatus> {
  const jobs = createClient(JobService, rig.address[service], { retry: false });
  let last: JobStatus | undefined;
  try {
    for await (const r of jobs.watchJob({ jobId, minIntervalMs: 50 }, { deadlineMs: CASE_TIMEOUT_MS }))
      last = r.job ?? last;
  } finally {
    jobs.close();
  }
  return last!;
}

/** The latest checkpoint's model state and trainer position, decoded. */
async function finalState(ganId: string) {
  const latest = await latestCheckpoint(store, artifacts, ganId);
  expect(latest?.manifest.final, ganId).toBe(true);
  const ckpt = decodeCheckpoint(new Uint8Array(await artifacts.readFile(CHECKPOINT_KIND, latest!.id, STATE_FILE)));
  return { kimg: latest!.manifest.kimg, ckpt };
}

// PGAN: 8x8 (4x4 for 32 images, then the 8x8 fade-in and stabilise), a checkpoint every 32 images, 12 steps.
const PGAN = { ...TINY, resolution: 8, totalKimg: 0.096, checkpointEveryKimg: 0.032 };
// The families of issue 21 at 16x16 with the smallest widths: 4 steps of 4 images, a checkpoint after each.
const FAMILY = { resolution: 16, latentDim: 8, fmapMax: 4, batchSize: 4, totalKimg: 0.016, checkpointEveryKimg: 0.004 };

// Inline cases first: the service restarts once, for the training-child case.
const GAN_CASES = [
  ["pgan", GanFamily.PGAN, PGAN, "0"],
  ["spade2stage", GanFamily.SPADE2STAGE, FAMILY, "0"],
  ["stylegan2", GanFamily.STYLEGAN2, FAMILY, "0"],
  ["ddpm", GanFamily.DDPM, FAMILY, "0"],
  ["pgan in a training child", GanFamily.PGAN, PGAN, "1"],
] as const;
// Seconds on a quiet 2-core machine; the limits leave room for a machine shared by many jobs.
const CASE_TIMEOUT_MS = 600_000;

describe("kill -9 of the generator during TrainGan", () => {
  it.each(GAN_CASES)(
    "%s: resumes from its checkpoint and ends at the uninterrupted weights",
    async (name, family, config, tp) => {
      await ensureTrainProcesses("generator", tp);
      const generator = createClient(GeneratorService, rig.address.generator, { retry: false });
      const request = { datasetId: "toy", family, seed: 21, config, name: `crash ${name}` };
      let res: Awaited<ReturnType<typeof generator.trainGan>>;
      try {
        res = await generator.trainGan(request);
      } finally {
        generator.close();
      }
      const total = config.totalKimg;
      // Kill after the first committed checkpoint (its report carries checkpoint_kimg), well before the end.
      const { killedAt, after, log } = await killAndResume("generator", res.jobId, (s) => {
        const m = s.progress?.metrics ?? {};
        return m.checkpoint_kimg !== undefined && m.kimg < total - 1e-9;
      });
      const last = after[after.length - 1]!;
      expect(last.errorMessage).toBe("");
      expect(JobState[last.state]).toBe("SUCCEEDED");
      expect(last.attempt).toBe(2);
      // It continued from a checkpoint at or after the one reported before the kill, not from scratch.
      const finished = log
        .split("\n")
        .filter((l) => l.includes('"training finished"') && l.includes(res.ganId))
        .map((l) => JSON.parse(l) as { resumedFromKimg: number | null });
      expect(finished, log.slice(-3000)).toHaveLength(1);
      expect(finished[0]!.resumedFromKimg).toBeGreaterThanOrEqual(killedAt.progress!.metrics.checkpoint_kimg! - 1e-9);

      // The same request without interruption, in the restarted service.
      const g2 = createClient(GeneratorService, rig.address.generator, { retry: false });
      let reference: Awaited<ReturnType<typeof g2.trainGan>>;
      try {
        reference = await g2.trainGan(request);
      } finally {
        g2.close();
      }
      const ref = await watchToEnd("generator", reference.jobId);
      expect(JobState[ref.state], ref.errorMessage).toBe("SUCCEEDED");
      expect(ref.attempt).toBe(1);

      const a = await finalState(res.ganId);
      const b = await finalState(reference.ganId);
      expect(a.kimg).toBeCloseTo(total, 9);
      expect(a.kimg).toBe(b.kimg);
      // Everything but the wall time spent training.
      expect({ ...a.ckpt.trainer, seconds: 0 }).toEqual({ ...b.ckpt.trainer, seconds: 0 });
      expect(a.ckpt.model).toEqual(b.ckpt.model);
    },
    CASE_TIMEOUT_MS,
  );
});

// A U-Net at 32x32: 3 epochs of 6 iterations, a checkpoint at the end of each epoch.
const UNET = {
  inputSize: 32,
  depth: 2,
  baseFilters: 4,
  deepSupervision: 1,
  epochs: 3,
  iterationsPerEpoch: 6,
  batchSize: 4,
  learningRate: 0.05,
  momentum: 0.9,
};

async function modelWeights(modelId: string): Promise<string[]> {
  const id = `${modelId}.v1`;
  const manifest = await artifacts.getManifest("seg-model", id);
  const paths = Object.keys(manifest.checksums)
    .filter((p) => !p.endsWith(".json"))
    .sort();
  const out: string[] = [];
  for (const p of paths)
    out.push(
      `${p}:${createHash("sha256")
        .update(await artifacts.readFile("seg-model", id, p))
        .digest("hex")}`,
    );
  return out;
}

describe("kill -9 of the segmenter during TrainSegmenter", () => {
  it.each([
    ["inline", "0"],
    ["in a training child", "1"],
  ] as const)(
    "%s: resumes from its checkpoint and publishes the uninterrupted model",
    async (_, tp) => {
      await ensureTrainProcesses("segmenter", tp);
      const request = { name: "crash", sources: [{ datasetId: segDatasetId }], runs: 1, baseSeed: 5, config: UNET };
      const s1 = createClient(SegmenterService, rig.address.segmenter, { retry: false });
      let res: Awaited<ReturnType<typeof s1.trainSegmenter>>;
      try {
        res = await s1.trainSegmenter(request);
      } finally {
        s1.close();
      }
      // The first checkpoint is written after iteration 6, before iteration 7 starts.
      const { after } = await killAndResume("segmenter", res.jobId, (s) => (s.progress?.metrics.iteration ?? 0) >= 8);
      const last = after[after.length - 1]!;
      expect(JobState[last.state], last.errorMessage).toBe("SUCCEEDED");
      expect(last.attempt).toBe(2);
      // Progress of the resumed run only (the first snapshots carry the metrics persisted before the kill):
      // a run started again from scratch would report iterations 1..6 again.
      const resumed = after
        .filter((s) => s.state === JobState.RUNNING && s.progress?.message.startsWith("training run"))
        .map((s) => s.progress!.metrics.iteration);
      expect(resumed.length).toBeGreaterThan(0);
      expect(Math.min(...resumed)).toBeGreaterThan(6);
      expect(last.progress?.metrics.iteration).toBe(18);
      // The resumed job published its model once, with the whole history (epochs before the kill included).
      const s3 = createClient(SegmenterService, rig.address.segmenter, { retry: false });
      try {
        const { models } = await s3.listModels({ jobId: res.jobId });
        expect(models.map((m) => m.id)).toEqual(res.modelIds);
      } finally {
        s3.close();
      }
      const history = await artifacts.readJson<{ history: { epoch: number }[] }>(
        "seg-model",
        `${res.modelIds[0]}.v1`,
        "history.json",
      );
      expect(history.history.map((h) => h.epoch)).toEqual([1, 2, 3]);

      const s2 = createClient(SegmenterService, rig.address.segmenter, { retry: false });
      let reference: Awaited<ReturnType<typeof s2.trainSegmenter>>;
      try {
        reference = await s2.trainSegmenter({ ...request, name: "reference" });
      } finally {
        s2.close();
      }
      const ref = await watchToEnd("segmenter", reference.jobId);
      expect(JobState[ref.state], ref.errorMessage).toBe("SUCCEEDED");
      const a = await modelWeights(res.modelIds[0]!);
      expect(a.length).toBeGreaterThan(0);
      expect(await modelWeights(reference.modelIds[0]!)).toEqual(a);
      for (const k of ["loss", "val_dice_mean"]) expect(last.progress?.metrics[k], k).toBe(ref.progress?.metrics[k]);
    },
    CASE_TIMEOUT_MS,
  );
});
