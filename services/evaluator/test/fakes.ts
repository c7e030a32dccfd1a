// In-process fake ingest and segmenter gRPC services (the real ones are built elsewhere), a small hand-made
// dataset, and the evaluator started against them with the embedded object store.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DataType,
  EvaluatorService,
  IngestService,
  JobService,
  JobState,
  type JobStatus,
  Origin,
  type SegmentSlicesRequest,
  SegmenterService,
  Split,
} from "@synthmri/contracts";
import { ArtifactStore, JobRunner, MinioObjectStore, NotFound, startEmbeddedS3 } from "@synthmri/platform";
import { createClient, createServer, receiveTensors, tensorFrames, typedArrayOf } from "@synthmri/rpc";
import { IngestSliceSource } from "../src/adapters/ingest-source.js";
import { GrpcSegmenter } from "../src/adapters/segmenter-client.js";
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
  /** StreamSlices never sends anything: it calls `blocked` and waits until the call is cancelled. */
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

function splitOf(ds: FakeDataset, key: string): Split {
  return ds.subjects.find((s) => s.key === key)?.split ?? Split.TRAIN;
}

export function fakeIngest(datasets: FakeDataset[]) {
  const byId = new Map(datasets.map((d) => [d.id, d]));
  const get = (id: string) => {
    const d = byId.get(id);
    if (!d) throw new NotFound(`dataset ${id} not found`);
    return d;
  };
  return {
    async getDataset(req: { datasetId: string; includeSubjects: boolean }) {
      const d = get(req.datasetId);
      return {
        dataset: {
          id: d.id,
          origin: d.origin,
          sliceShape: [SIDE, SIDE, C],
          trainSlices: d.slices.filter((s) => splitOf(d, s.subject) === Split.TRAIN).length,
          testSlices: d.slices.filter((s) => splitOf(d, s.subject) === Split.TEST).length,
          subjects: req.includeSubjects
            ? d.subjects.map((s) => ({
                key: s.key,
                split: s.split,
                shape: [SIDE, SIDE, 155],
                spacing: s.spacing,
                sliceCount: s.indices.length,
              }))
            : [],
        },
      };
    },
    async *streamSlices(
      req: { datasetId: string; split: Split; batchSize: number; maxSlices: number },
      ctx: { signal: AbortSignal },
    ) {
      const d = get(req.datasetId);
      if (d.block) {
        d.block.blocked();
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
        throw ctx.signal.reason;
      }
      const split = req.split === Split.UNSPECIFIED ? Split.TRAIN : req.split;
      let chosen = d.slices.filter(
        (s) => split === Split.ALL || d.origin === Origin.SYNTHETIC || splitOf(d, s.subject) === split,
      );
      if (req.maxSlices) chosen = chosen.slice(0, req.maxSlices);
      const bs = req.batchSize || 3;
      for (let i = 0, index = 0; i < chosen.length; i += bs, index++) {
        const batch = chosen.slice(i, i + bs);
        const data = new Uint8Array(batch.length * PLANE * C);
        batch.forEach((s, k) => {
          data.set(s.data, k * PLANE * C);
        });
        let first = true;
        for (const frame of tensorFrames(
          { dtype: DataType.UINT8, shape: [batch.length, SIDE, SIDE, C], data, index },
          4096,
        )) {
          yield first
            ? {
                frame,
                batch: { subjectKeys: batch.map((s) => s.subject), sliceIndices: batch.map((s) => s.index), split },
              }
            : { frame };
          first = false;
        }
      }
    },
  };
}

/**
 * Models: "truth" returns the mask read back from FLAIR; "shift" the same shifted one pixel right (x);
 * "bad-label" answers label 7; "bad-shape" answers one row short.
 */
export function fakeSegmenter() {
  const models = new Set(["truth", "shift", "bad-label", "bad-shape"]);
  return {
    async loadModel(req: { modelId: string; version: number }) {
      if (!models.has(req.modelId)) throw new NotFound(`model ${req.modelId} not found`);
      return { model: { id: req.modelId, version: req.version || 1 } };
    },
    async *segmentSlices(requests: AsyncIterable<SegmentSlicesRequest>) {
      const it = requests[Symbol.asyncIterator]();
      const first = await it.next();
      if (first.done || first.value.part.case !== "config") throw new Error("config first");
      const model = first.value.part.value.modelId;
      const rest = { [Symbol.asyncIterator]: () => it };
      for await (const t of receiveTensors(rest, (m: SegmentSlicesRequest) =>
        m.part.case === "frame" ? m.part.value : undefined,
      )) {
        const [n, h, w] = t.shape;
        const img = typedArrayOf(t) as Uint8Array;
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
        yield* [
          ...tensorFrames({ dtype: DataType.UINT8, shape: [n, outH, w], data: labels, name: "labels", index: t.index }),
        ].map((frame) => ({ frame }));
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

export async function startHarness(datasets: FakeDataset[]): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), "evaluator-test-"));
  const s3 = await startEmbeddedS3({ dataDir: dir });
  const store = new MinioObjectStore({ ...s3, bucket: "synthmri" });
  await store.ensureBucket();
  const fakes = createServer();
  fakes.add(IngestService, fakeIngest(datasets) as never).add(SegmenterService, fakeSegmenter() as never);
  const fakePort = await fakes.listen("127.0.0.1", 0);
  const ingestClient = createClient(IngestService, `127.0.0.1:${fakePort}`);
  const segClient = createClient(SegmenterService, `127.0.0.1:${fakePort}`);
  const artifacts = new ArtifactStore({ store });
  const jobRunner = new JobRunner({ store, service: "evaluator", persistIntervalMs: 50 });
  const started = await startServer({
    artifacts,
    jobs: jobRunner,
    source: new IngestSliceSource(ingestClient),
    segmenter: new GrpcSegmenter(segClient),
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
      ingestClient.close();
      segClient.close();
      await started.close(1000);
      await fakes.shutdown(1000);
      await s3.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
