// Small hand-made datasets written as real dataset artifacts into the embedded object store (the evaluator
// reads them there, as it reads ingest's), an in-process fake segmenter gRPC service that segments them by id
// (SegmentDataset, reading the same store), and the evaluator started against both.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DataType,
  EvaluatorService,
  JobService,
  JobState,
  type JobStatus,
  Origin,
  type SegmentDatasetRequest,
  SegmenterService,
  Split,
} from "@synthmri/contracts";
import { ArtifactStore, JobRunner, type Logger, MinioObjectStore, NotFound, startEmbeddedS3 } from "@synthmri/platform";
import { createClient, createServer, tensorFrames } from "@synthmri/rpc";
import {
  asDatasetManifest,
  DATASET_CHANNELS,
  DATASET_FORMAT,
  DATASET_FORMAT_VERSION,
  DATASET_KIND,
  type DatasetFields,
  type DatasetShard,
  type DatasetSplit,
  encodeShard,
  readDatasetSlices,
} from "@synthmri/volume";
import { StoreSliceSource } from "../src/adapters/dataset-store.js";
import { GrpcSegmenter } from "../src/adapters/segmenter-client.js";
import type { SliceSource } from "../src/domain/ports.js";
import { startServer } from "../src/server.js";

export const SIDE = 32;
export const SLICES = 4;
const C = 5;
const PLANE = SIDE * SIDE;

export interface FakeSubject {
  key: string;
  split: Split;
  /** [x, y, z] mm */
  spacing: [number, number, number];
  /** Axial indices of the kept slices. */
  indices: number[];
}

export interface FakeDataset {
  id: string;
  origin: Origin;
  subjects: FakeSubject[];
  /** NHWC uint8 slices with their subject and index. */
  slices: { subject: string; index: number; data: Uint8Array }[];
  /** Reading its slices never yields anything: it calls `blocked` and waits until the read is cancelled. */
  block?: { blocked: () => void };
}

/** Deterministic pseudo-random bytes. */
export function noise(seed: number, n: number): Uint8Array {
  let s = seed >>> 0 || 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) & 255;
  }
  return out;
}

/**
 * One 5-channel slice: T1/T1CE/T2 seeded noise, FLAIR = the mask value (so the fake segmenter can read the
 * truth back), mask = an ED square (label 2 -> 102) at rows 8..15, cols 8..15.
 */
export function realSlice(seed: number): Uint8Array {
  const d = new Uint8Array(PLANE * C);
  const nz = noise(seed, PLANE * 3);
  for (let p = 0; p < PLANE; p++) {
    const r = Math.floor(p / SIDE);
    const c = p % SIDE;
    const inTumour = r >= 8 && r < 16 && c >= 8 && c < 16;
    d[p * C] = nz[p * 3];
    d[p * C + 1] = nz[p * 3 + 1];
    d[p * C + 2] = nz[p * 3 + 2];
    d[p * C + 3] = inTumour ? 102 : 0;
    d[p * C + 4] = inTumour ? 102 : 0;
  }
  return d;
}

export function realDataset(id = "real-1"): FakeDataset {
  const subjects: FakeSubject[] = [
    { key: "s-test-a", split: Split.TEST, spacing: [1, 1, 2], indices: [10, 11, 12, 13] },
    { key: "s-test-b", split: Split.TEST, spacing: [1.5, 1, 2], indices: [20, 21, 22, 23] },
    { key: "s-train-a", split: Split.TRAIN, spacing: [1, 1, 2], indices: [5, 6, 7, 8] },
  ];
  let seed = 1;
  // Interleave the two test subjects' slices so the evaluator must group them.
  const slices = [0, 1, 2, 3].flatMap((i) =>
    subjects.map((s) => ({ subject: s.key, index: s.indices[i], data: realSlice(seed++) })),
  );
  return { id, origin: Origin.REAL, subjects, slices };
}

/** Synthetic slices: seeded noise in every channel, plus copies of the given real slices. */
export function syntheticDataset(id: string, count: number, copies: Uint8Array[] = []): FakeDataset {
  const slices = Array.from({ length: count }, (_, i) => ({ subject: "", index: i, data: noise(1000 + i, PLANE * C) }));
  for (const c of copies) slices.push({ subject: "", index: slices.length, data: c });
  return { id, origin: Origin.SYNTHETIC, subjects: [], slices };
}

function splitOf(ds: FakeDataset, key: string): DatasetSplit {
  return ds.subjects.find((s) => s.key === key)?.split === Split.TEST ? "test" : "train";
}

/** Writes a fake dataset as a dataset artifact: one shard per split, slices in the fixture's order. */
export async function writeDataset(artifacts: ArtifactStore, ds: FakeDataset): Promise<void> {
  const writer = await artifacts.beginArtifact(DATASET_KIND, ds.id);
  const shards: DatasetShard[] = [];
  const sliceCounts: Record<DatasetSplit, number> = { train: 0, test: 0 };
  for (const split of ["train", "test"] as const) {
    const chosen = ds.slices.filter((s) => splitOf(ds, s.subject) === split);
    if (chosen.length === 0) continue;
    const data = new Uint8Array(chosen.length * PLANE * C);
    chosen.forEach((s, k) => {
      data.set(s.data, k * PLANE * C);
    });
    const path = `slices/${split}-00000.smsl`;
    const batch = {
      height: SIDE,
      width: SIDE,
      channels: C,
      count: chosen.length,
      data,
      sliceIndex: chosen.map((s) => s.index),
      subject: chosen.map((s) => s.subject),
    };
    await writer.putFile(path, encodeShard(batch));
    shards.push({ path, split, count: chosen.length, subjects: [...new Set(batch.subject)] });
    sliceCounts[split] = chosen.length;
  }
  const real = ds.origin === Origin.REAL;
  const fields: DatasetFields = {
    format: DATASET_FORMAT,
    formatVersion: DATASET_FORMAT_VERSION,
    name: ds.id,
    origin: real ? "real" : "synthetic",
    sourceLayout: real ? "brats2020" : "generator",
    labelScheme: "brats2020",
    sliceShape: [SIDE, SIDE, C],
    channels: DATASET_CHANNELS,
    maskValues: { NCR: 51, ED: 102, ET: 204 },
    preprocessing: null,
    split: {
      seed: "000",
      testFraction: 0,
      train: ds.subjects.filter((s) => s.split !== Split.TEST).map((s) => s.key),
      test: ds.subjects.filter((s) => s.split === Split.TEST).map((s) => s.key),
    },
    subjects: ds.subjects.map((s) => ({
      key: s.key,
      split: s.split === Split.TEST ? "test" : "train",
      shape: [SIDE, SIDE, 155],
      affine: [
        [s.spacing[0], 0, 0, 0],
        [0, s.spacing[1], 0, 0],
        [0, 0, s.spacing[2], 0],
        [0, 0, 0, 1],
      ],
      spacing: s.spacing,
      sliceCount: s.indices.length,
      volumes: {},
    })),
    shards,
    sliceCounts,
    labels: {},
  };
  await writer.commit({ extra: fields });
}

/** The store's slices, except that a dataset with `block` calls it and waits until the read is cancelled. */
function blockingSource(store: SliceSource, datasets: FakeDataset[]): SliceSource {
  const blocked = new Map(datasets.filter((d) => d.block).map((d) => [d.id, d.block]));
  return {
    describe: (id, o) => store.describe(id, o),
    streamSlices(id, o) {
      const block = blocked.get(id);
      if (!block) return store.streamSlices(id, o);
      return (async function* () {
        block.blocked();
        const signal = o.signal;
        if (!signal) throw new Error("a blocked read needs a signal to end");
        await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
        throw signal.reason;
      })();
    },
  };
}

/**
 * Models: "truth" returns the mask read back from FLAIR; "shift" the same shifted one pixel right (x);
 * "bad-label" answers label 7; "bad-shape" answers one row short. SegmentDataset reads the dataset from the
 * store as the real segmenter does.
 */
export function fakeSegmenter(artifacts: ArtifactStore) {
  const models = new Set(["truth", "shift", "bad-label", "bad-shape"]);
  return {
    async loadModel(req: { modelId: string; version: number }) {
      if (!models.has(req.modelId)) throw new NotFound(`model ${req.modelId} not found`);
      return { model: { id: req.modelId, version: req.version || 1 } };
    },
    async *segmentDataset(req: SegmentDatasetRequest) {
      const model = req.modelId;
      const m = asDatasetManifest(await artifacts.getManifest(DATASET_KIND, req.datasetId));
      const split = req.split === Split.TRAIN ? "train" : req.split === Split.ALL ? "all" : "test";
      let index = 0;
      for await (const b of readDatasetSlices(m, (p) => artifacts.readFile(DATASET_KIND, req.datasetId, p), {
        split,
        batchSize: req.batchSize || 32,
        channels: ["t1", "t1ce", "t2", "flair"],
      })) {
        const { count: n, height: h, width: w, data: img } = b;
        const outH = model === "bad-shape" ? h - 1 : h;
        const labels = new Uint8Array(n * outH * w);
        for (let i = 0; i < n; i++)
          for (let r = 0; r < outH; r++)
            for (let c = 0; c < w; c++) {
              const src = model === "shift" ? c - 1 : c;
              const v = src < 0 ? 0 : img[((i * h + r) * w + src) * 4 + 3];
              const label = v === 51 ? 1 : v === 102 ? 2 : v === 204 ? 4 : 0;
              labels[(i * outH + r) * w + c] = model === "bad-label" && label ? 7 : label;
            }
        let first = true;
        for (const frame of tensorFrames({
          dtype: DataType.UINT8,
          shape: [n, outH, w],
          data: labels,
          name: "labels",
          index: index++,
        })) {
          yield first ? { frame, subjectKeys: b.subject, sliceIndices: b.sliceIndex } : { frame };
          first = false;
        }
      }
    },
  };
}

export interface Harness {
  evaluator: ReturnType<typeof createClient<(typeof EvaluatorService)["method"]>>;
  jobs: ReturnType<typeof createClient<(typeof JobService)["method"]>>;
  artifacts: ArtifactStore;
  dir: string;
  waitJob(jobId: string): Promise<JobStatus>;
  close(): Promise<void>;
}

export async function startHarness(datasets: FakeDataset[], options: { logger?: Logger } = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), "evaluator-test-"));
  const s3 = await startEmbeddedS3({ dataDir: dir });
  const store = new MinioObjectStore({ ...s3, bucket: "synthmri" });
  await store.ensureBucket();
  const artifacts = new ArtifactStore({ store });
  for (const ds of datasets) await writeDataset(artifacts, ds);
  const fakes = createServer({ logger: options.logger?.child({ service: "fake-segmenter" }) });
  fakes.add(SegmenterService, fakeSegmenter(artifacts) as never);
  const fakePort = await fakes.listen("127.0.0.1", 0);
  const segClient = createClient(SegmenterService, `127.0.0.1:${fakePort}`);
  const jobRunner = new JobRunner({ store, service: "evaluator", persistIntervalMs: 50, logger: options.logger });
  const started = await startServer({
    artifacts,
    jobs: jobRunner,
    source: blockingSource(new StoreSliceSource(artifacts), datasets),
    segmenter: new GrpcSegmenter(segClient),
    logger: options.logger,
    quality: {
      defaultMaxSamples: 8,
      swd: { nhoodsPerImage: 16, dirRepeats: 1, dirsPerRepeat: 32 },
      featureDistance: true,
    },
  });
  const evaluator = createClient(EvaluatorService, started.address);
  const jobs = createClient(JobService, started.address);
  return {
    evaluator,
    jobs,
    artifacts,
    dir,
    async waitJob(jobId) {
      let last: JobStatus | undefined;
      for await (const r of jobs.watchJob({ jobId })) last = r.job;
      if (!last) throw new Error("watchJob sent nothing");
      if (![JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED].includes(last.state))
        throw new Error(`watch ended in state ${last.state}`);
      return last;
    },
    async close() {
      evaluator.close();
      jobs.close();
      segClient.close();
      await started.close(1000);
      await fakes.shutdown(1000);
      await s3.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
