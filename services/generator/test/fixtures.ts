// Test harness: the embedded S3 in a temp dir, a toy 5-channel dataset in the documented dataset format
// (what the ingest service writes), the generator server on port 0, typed clients, job waiting via WatchJob.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { GeneratorService, type JobStatus, JobService, JobState } from "@synthmri/contracts";
import { initBackend, Rng } from "@synthmri/ml";
import {
  ArtifactStore,
  type EmbeddedS3,
  JobRunner,
  MinioObjectStore,
  type ObjectStore,
  startEmbeddedS3,
} from "@synthmri/platform";
import { createClient } from "@synthmri/rpc";
import {
  DATASET_CHANNELS,
  DATASET_FORMAT,
  DATASET_FORMAT_VERSION,
  type DatasetFields,
  DatasetShardWriter,
} from "@synthmri/volume";
import { type GeneratorDeps, type StartedServer, startServer } from "../src/server.js";

/** n uint8 slices: a brain disc (4 MR channels) with a tumour blob labelled ED (102) / ET (204). */
export function toySlices(n: number, size: number, seed = 1): Uint8Array {
  const rng = new Rng(seed);
  const data = new Uint8Array(n * size * size * 5);
  const base = [150, 110, 190, 170];
  for (let i = 0; i < n; i++) {
    const cx = size / 2 + rng.uniform(-1, 1) * (size / 16);
    const cy = size / 2 + rng.uniform(-1, 1) * (size / 16);
    const r = size * rng.uniform(0.33, 0.42);
    const tx = cx + rng.uniform(-0.3, 0.3) * r;
    const ty = cy + rng.uniform(-0.3, 0.3) * r;
    const tr = r * rng.uniform(0.2, 0.35);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const o = ((i * size + y) * size + x) * 5;
        const inBrain = (x - cx) ** 2 + (y - cy) ** 2 < r * r;
        const dt = Math.sqrt((x - tx) ** 2 + (y - ty) ** 2);
        const label = !inBrain ? 0 : dt < tr * 0.5 ? 204 : dt < tr ? 102 : 0;
        for (let c = 0; c < 4; c++) data[o + c] = inBrain ? Math.min(255, base[c] + (label ? 40 : 0)) : 0;
        data[o + 4] = label;
      }
    }
  }
  return data;
}

/** Writes a real-looking dataset artifact (train + test shards) as the ingest service would. */
export async function writeToyDataset(
  artifacts: ArtifactStore,
  id: string,
  opts: { train: number; test?: number; size: number },
): Promise<void> {
  const w = await artifacts.beginArtifact("dataset", id);
  const shards = new DatasetShardWriter(w, { shardSlices: 128 });
  const batch = (split: string, count: number, seed: number) => ({
    height: opts.size,
    width: opts.size,
    channels: 5,
    count,
    data: toySlices(count, opts.size, seed),
    sliceIndex: Array.from({ length: count }, (_, i) => i),
    subject: Array.from({ length: count }, (_, i) => `sub-${split}${i % 4}`),
  });
  if (opts.train) await shards.add("train", batch("train", opts.train, 1));
  if (opts.test) await shards.add("test", batch("test", opts.test, 2));
  const { shards: list, sliceCounts } = await shards.finish();
  const fields: DatasetFields = {
    format: DATASET_FORMAT,
    formatVersion: DATASET_FORMAT_VERSION,
    name: id,
    origin: "real",
    sourceLayout: "upload",
    labelScheme: "brats2020",
    sliceShape: [opts.size, opts.size, 5],
    channels: DATASET_CHANNELS,
    maskValues: { NCR: 51, ED: 102, ET: 204 },
    preprocessing: null,
    split: { seed: "000", testFraction: 0.2, train: [], test: [] },
    subjects: [],
    shards: list,
    sliceCounts,
    labels: {},
  };
  await w.commit({ extra: fields });
}

export interface Harness {
  dir: string;
  s3: EmbeddedS3;
  store: ObjectStore;
  artifacts: ArtifactStore;
  jobs: JobRunner;
  server: StartedServer;
  generator: ReturnType<typeof createClient<(typeof GeneratorService)["method"]>>;
  jobClient: ReturnType<typeof createClient<(typeof JobService)["method"]>>;
  /** Every status WatchJob streams until the job ends. */
  watch(jobId: string): Promise<JobStatus[]>;
  close(): Promise<void>;
}

const MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url));

/** The environment a generator entrypoint (main.ts, member-main.ts) needs to run on the test's embedded store. */
export function processEnv(s3: EmbeddedS3, dir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    S3_ENDPOINT: s3.endpoint,
    S3_ACCESS_KEY: s3.accessKey,
    S3_SECRET_KEY: s3.secretKey,
    S3_BUCKET: "synthmri",
    SYNTHMRI_DATA_DIR: dir,
    TF_BACKEND: "cpu",
  };
}

/** What a test file that runs generator entrypoints as processes shares: store, toy dataset, the processes. */
export interface ProcessStore {
  dir: string;
  s3: EmbeddedS3;
  store: ObjectStore;
  artifacts: ArtifactStore;
  procs: ChildProcess[];
}

/**
 * Registers beforeAll/afterAll for such a file: the embedded S3 in a temp dir with the toy dataset "toy" (64
 * 16x16 slices), and at the end every process still running SIGKILLed and the store removed. The object is
 * filled in by beforeAll.
 */
export function useProcessStore(
  prefix: string,
  hooks: { beforeAll: (fn: () => Promise<void>, ms: number) => void; afterAll: (fn: () => Promise<void>) => void },
): ProcessStore {
  const h = { procs: [] } as unknown as ProcessStore;
  hooks.beforeAll(async () => {
    h.dir = await mkdtemp(join(tmpdir(), prefix));
    h.s3 = await startEmbeddedS3({ dataDir: h.dir });
    h.store = await openStore(h.s3);
    h.artifacts = new ArtifactStore({ store: h.store });
    await writeToyDataset(h.artifacts, "toy", { train: 64, size: 16 });
  }, 60_000);
  hooks.afterAll(async () => {
    for (const p of h.procs) if (p.exitCode === null) p.kill("SIGKILL");
    await h.s3?.close();
    if (h.dir) await rm(h.dir, { recursive: true, force: true });
  });
  return h;
}

/**
 * Starts main.ts as its own process on the test's embedded store (cpu backend, port 0; `env` adds e.g.
 * TRAIN_PROCESSES) and resolves with its address at the "generator ready" log line. The process is pushed onto
 * `procs` at once (the caller's afterAll kills what is left); `onLine` sees every log line.
 */
export function startGeneratorProcess(
  s3: EmbeddedS3,
  dir: string,
  procs: ChildProcess[],
  options: { env?: Record<string, string>; onLine?: (line: string) => void } = {},
): Promise<{ proc: ChildProcess; address: string }> {
  const proc = spawn(process.execPath, ["--import", "tsx", MAIN], {
    env: { ...processEnv(s3, dir), GENERATOR_PORT: "0", LOG_LEVEL: "info", ...options.env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  procs.push(proc);
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    proc.on("exit", (code) => reject(new Error(`generator exited with ${code}:\n${lines.slice(-20).join("\n")}`)));
    createInterface({ input: proc.stderr! }).on("line", (line) => {
      lines.push(line);
      options.onLine?.(line);
      if (line.includes('"generator ready"'))
        resolve({ proc, address: `127.0.0.1:${JSON.parse(line).port as number}` });
    });
  });
}

export async function openStore(s3: EmbeddedS3): Promise<ObjectStore> {
  const store = new MinioObjectStore({
    endpoint: s3.endpoint,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    bucket: "synthmri",
  });
  await store.ensureBucket();
  return store;
}

/** `extra` overrides the server's deps (e.g. trainProcesses, which needs the store's endpoint). */
export async function startHarness(extra?: (s3: EmbeddedS3) => Partial<GeneratorDeps>): Promise<Harness> {
  await initBackend({ preferred: "cpu" });
  const dir = await mkdtemp(join(tmpdir(), "generator-test-"));
  const s3 = await startEmbeddedS3({ dataDir: dir });
  const store = await openStore(s3);
  const artifacts = new ArtifactStore({ store });
  const jobs = new JobRunner({ store, service: "generator", concurrency: 64, persistIntervalMs: 100 });
  const server = await startServer({
    artifacts,
    store,
    jobs,
    workConcurrency: 2,
    quality: { swdImages: 16, nhoodsPerImage: 8, dirsPerRepeat: 16, dirRepeats: 1, gridSamples: 4 },
    ...extra?.(s3),
  });
  const generator = createClient(GeneratorService, server.address);
  const jobClient = createClient(JobService, server.address);
  return {
    dir,
    s3,
    store,
    artifacts,
    jobs,
    server,
    generator,
    jobClient,
    async watch(jobId) {
      const out: JobStatus[] = [];
      for await (const r of jobClient.watchJob({ jobId, minIntervalMs: 1 })) if (r.job) out.push(r.job);
      return out;
    },
    async close() {
      generator.close();
      jobClient.close();
      await server.close(1000);
      await s3.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function terminal(s: JobStatus | undefined): boolean {
  return !!s && [JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED].includes(s.state);
}

/** A tiny PGAN config: 16x16, 8 latents, few feature maps, phases of 32 images. */
export const TINY = {
  resolution: 16,
  latentDim: 8,
  fmapMax: 8,
  fmapMin: 4,
  kimgPerPhase: 0.032,
  batchSize: 8,
  learningRate: 0.005,
  checkpointEveryKimg: 0.064,
};
