// Test fixtures: embedded S3 + artifact store, a phantom dataset artifact in the real dataset format, a
// segmenter server on port 0 and typed clients.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JobService, type JobStatus, JobState, SegmenterService } from "@synthmri/contracts";
import { initBackend } from "@synthmri/ml";
import { ArtifactStore, type EmbeddedS3, JobRunner, MinioObjectStore, startEmbeddedS3 } from "@synthmri/platform";
import { createClient } from "@synthmri/rpc";
import {
  DATASET_CHANNELS,
  DATASET_FORMAT,
  DATASET_FORMAT_VERSION,
  type DatasetFields,
  DatasetShardWriter,
  generatePhantomCohort,
  type PhantomSubject,
  phantomSubjectFiles,
  prepareSubject,
  SEED000_SLICE_PARAMS,
} from "@synthmri/volume";
import { type StartedServer, startServer } from "../src/server.js";

export interface Store {
  dir: string;
  s3: EmbeddedS3;
  store: MinioObjectStore;
  artifacts: ArtifactStore;
  close(): Promise<void>;
}

export async function startStore(): Promise<Store> {
  const dir = await mkdtemp(join(tmpdir(), "segmenter-test-"));
  const s3 = await startEmbeddedS3({ dataDir: dir });
  const store = new MinioObjectStore({ ...s3, bucket: "synthmri" });
  await store.ensureBucket();
  return {
    dir,
    s3,
    store,
    artifacts: new ArtifactStore({ store }),
    async close() {
      await s3.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function phantomFiles(s: PhantomSubject): Record<string, { name: string; bytes: Uint8Array }> {
  const out: Record<string, { name: string; bytes: Uint8Array }> = {};
  for (const [name, bytes] of Object.entries(phantomSubjectFiles(s))) {
    const role = name.replace(/^.*_/, "").replace(".nii.gz", "");
    out[role] = { name, bytes };
  }
  return out;
}

/**
 * A dataset artifact from phantom subjects (seed-000 slicing, brats2020 labels): the first `testSubjects`
 * subjects go to the test split. origin "synthetic" marks it as such (preprocessing null) for mixtures.
 */
export async function phantomDataset(
  artifacts: ArtifactStore,
  o: { subjects: PhantomSubject[]; testSubjects: number; id?: string; origin?: "real" | "synthetic" },
): Promise<string> {
  const w = await artifacts.beginArtifact("dataset", o.id);
  const shards = new DatasetShardWriter(w);
  const train: string[] = [];
  const test: string[] = [];
  const subjects: DatasetFields["subjects"] = [];
  for (const [i, s] of o.subjects.entries()) {
    const p = prepareSubject(s.id, phantomFiles(s), { scheme: "brats2020" });
    if (!p.ok) throw new Error(JSON.stringify(p.problems));
    const split = i < o.testSubjects ? "test" : "train";
    (split === "test" ? test : train).push(s.id);
    await shards.add(split, p.value.slices.batch);
    subjects.push({
      key: s.id,
      split,
      shape: s.shape,
      affine: s.affine,
      spacing: [1, 1, 1],
      sliceCount: p.value.slices.kept,
      volumes: {},
    });
  }
  const done = await shards.finish();
  const real = (o.origin ?? "real") === "real";
  const fields: DatasetFields = {
    format: DATASET_FORMAT,
    formatVersion: DATASET_FORMAT_VERSION,
    name: "phantom",
    origin: real ? "real" : "synthetic",
    sourceLayout: real ? "brats2020" : "generator",
    labelScheme: "brats2020",
    sliceShape: done.sliceShape! as [number, number, number],
    channels: DATASET_CHANNELS,
    maskValues: { NCR: 51, ED: 102, ET: 204 },
    preprocessing: real ? { ...SEED000_SLICE_PARAMS, size: done.sliceShape![0] } : null,
    split: { seed: "000", testFraction: o.testSubjects / o.subjects.length, train, test },
    subjects: real ? subjects : [],
    shards: done.shards,
    sliceCounts: done.sliceCounts,
    labels: {},
  };
  const { manifest } = await w.commit({ extra: fields as unknown as Record<string, unknown> });
  return manifest.id;
}

export function cohort(n: number, seed = 1, size: [number, number, number] = [64, 64, 32]): PhantomSubject[] {
  return generatePhantomCohort({ subjects: n, size, seed });
}

export interface Harness {
  server: StartedServer;
  segmenter: ReturnType<typeof createClient<(typeof SegmenterService)["method"]>>;
  jobs: ReturnType<typeof createClient<(typeof JobService)["method"]>>;
  waitJob(jobId: string, onUpdate?: (s: JobStatus) => void): Promise<JobStatus>;
  close(): Promise<void>;
}

export function clients(address: string) {
  return { segmenter: createClient(SegmenterService, address), jobs: createClient(JobService, address) };
}

export async function waitJob(
  jobs: Harness["jobs"],
  jobId: string,
  onUpdate?: (s: JobStatus) => void,
): Promise<JobStatus> {
  let last: JobStatus | undefined;
  for await (const r of jobs.watchJob({ jobId, minIntervalMs: 1 }, { deadlineMs: 600_000 })) {
    last = r.job;
    if (last) onUpdate?.(last);
  }
  if (!last) throw new Error("watchJob sent nothing");
  if (![JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED].includes(last.state))
    throw new Error(`watch ended in state ${JobState[last.state]}`);
  return last;
}

export async function startHarness(store: Store): Promise<Harness> {
  await initBackend({});
  const jobRunner = new JobRunner({ store: store.store, service: "segmenter", persistIntervalMs: 50 });
  const server = await startServer({ artifacts: store.artifacts, jobs: jobRunner });
  const c = clients(server.address);
  return {
    server,
    ...c,
    waitJob: (id, f) => waitJob(c.jobs, id, f),
    async close() {
      c.segmenter.close();
      c.jobs.close();
      await server.close(1000);
    },
  };
}
