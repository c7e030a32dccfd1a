// Load benchmark (not a test; issue 17): the ingest and segmenter production entrypoints as processes on the
// embedded store; 50 concurrent clients call a cheap RPC (JobService.ListJobs on ingest) for LOAD_SECONDS
// (default 60), then 20 concurrent SegmentSlices streams run on a small U-Net for LOAD_SECONDS. Reports
// completed calls, errors by code, p50/p99 latency, and each server's RSS before, at the end of the load and
// SETTLE_SECONDS after it (RSS must come back within 10 % of where it started), with where the memory is (anon/file
// RSS, V8 heap, external ArrayBuffers from each server's /metrics). `npm run bench:load`; prints one JSON line.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { DataType, JobService, LabelScheme, SegmenterService, SegmentSlicesRequestSchema } from "@synthmri/contracts";
import { initBackend, saveUNet, UNet } from "@synthmri/ml";
import { ArtifactStore, MinioObjectStore, startEmbeddedS3 } from "@synthmri/platform";
import { createClient, type RpcError, receiveTensors, tensorFrames } from "@synthmri/rpc";
import { ModelStore } from "@synthmri/segmenter";
import { SEED000_SLICE_PARAMS } from "@synthmri/volume";

const ROOT = new URL("../../", import.meta.url).pathname;
const SECONDS = Number(process.env.LOAD_SECONDS ?? 60);
const SETTLE_SECONDS = Number(process.env.SETTLE_SECONDS ?? 20);
const UNARY_CLIENTS = 50;
const STREAMS = 20;
const SIDE = 64;
const SLICES_PER_STREAM = 8;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function startService(service: string, env: Record<string, string>): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ["--import", "tsx", `services/${service}/src/main.ts`], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  return new Promise((resolve, reject) => {
    proc.stderr?.on("data", (d: Buffer) => {
      err += d.toString();
      if (/"msg":"[^"]*\bready"/.test(err)) resolve(proc);
      if (err.length > 100_000) err = err.slice(-10_000);
    });
    proc.once("exit", (code) => reject(new Error(`${service} exited ${code}: ${err.slice(-2000)}`)));
  });
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Math.round(Number(m[1]) / 1024) : Number.NaN;
}

/**
 * Where a server's memory is, to tell a leak from retention: anonymous vs file-backed RSS (/proc smaps_rollup) and
 * the V8 heap and external (ArrayBuffer) bytes from its /metrics (prom-client's process metrics), in MiB.
 */
async function memoryDetail(pid: number, metricsPort: number): Promise<Record<string, number>> {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(rollup)?.[1] ?? Number.NaN);
  const out: Record<string, number> = {
    rss: rssMiB(pid),
    anon: Math.round(kb("Anonymous") / 1024),
    file: Math.round((kb("Rss") - kb("Anonymous")) / 1024),
  };
  try {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const metric = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, "m").exec(text)?.[1]);
    const mib = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
    out.heapUsed = mib(metric("nodejs_heap_size_used_bytes"));
    out.heapTotal = mib(metric("nodejs_heap_size_total_bytes"));
    out.external = mib(metric("nodejs_external_memory_bytes"));
  } catch {
    // metrics unavailable: RSS split only
  }
  return out;
}

interface Tally {
  ok: number;
  errors: Record<string, number>;
  latenciesMs: number[];
}

function summary(t: Tally, seconds: number) {
  const sorted = [...t.latenciesMs].sort((a, b) => a - b);
  const q = (p: number) =>
    sorted.length ? Number(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(1)) : null;
  return {
    completed: t.ok,
    perSecond: Number((t.ok / seconds).toFixed(1)),
    errorsByCode: t.errors,
    p50Ms: q(0.5),
    p99Ms: q(0.99),
  };
}

function codeOf(e: unknown): string {
  const code = (e as RpcError).code;
  return typeof code === "number" ? String(code) : "client";
}

async function publishModel(artifacts: ArtifactStore): Promise<void> {
  await initBackend({});
  const net = new UNet(
    {
      inChannels: 4,
      numClasses: 4,
      widths: [8, 16, 32],
      deepSupervisionHeads: 1,
      leakySlope: 0.01,
      inputSize: [SIDE, SIDE],
    },
    1,
  );
  await new ModelStore(artifacts).publish(
    {
      model: {
        id: "load",
        version: 1,
        name: "load",
        run: 0,
        seed: 1,
        sources: [],
        mixture: "equal",
        unet: net.config,
        train: { epochs: 0, iterationsPerEpoch: 0, batchSize: 0, lr: 0, polyExponent: 0, momentum: 0, weightDecay: 0 },
        augmentation: {},
        validationDice: null,
        bestEpoch: 0,
        preprocessing: {
          dataset: { ...SEED000_SLICE_PARAMS, size: SIDE },
          datasetSize: SIDE,
          inputSize: SIDE,
          normalization: "zscore-brain",
        },
        jobId: "load",
        labels: {},
        weights: "model.smunet",
      },
    },
    saveUNet(net),
    {},
    { inputs: [], params: {}, provenance: {} },
  );
  net.dispose();
}

async function unaryLoad(address: string): Promise<Tally> {
  const t: Tally = { ok: 0, errors: {}, latenciesMs: [] };
  const end = Date.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: UNARY_CLIENTS }, async () => {
      const c = createClient(JobService, address, { retry: false });
      try {
        while (Date.now() < end) {
          const t0 = performance.now();
          try {
            await c.listJobs({}, { deadlineMs: 10_000 });
            t.ok++;
            t.latenciesMs.push(performance.now() - t0);
          } catch (e) {
            t.errors[codeOf(e)] = (t.errors[codeOf(e)] ?? 0) + 1;
          }
        }
      } finally {
        c.close();
      }
    }),
  );
  return t;
}

async function streamLoad(address: string): Promise<Tally> {
  const t: Tally = { ok: 0, errors: {}, latenciesMs: [] };
  const end = Date.now() + SECONDS * 1000;
  const images = new Uint8Array(SLICES_PER_STREAM * SIDE * SIDE * 4).map((_, i) => (i * 37) % 251);
  await Promise.all(
    Array.from({ length: STREAMS }, async () => {
      const c = createClient(SegmenterService, address, { retry: false });
      try {
        while (Date.now() < end) {
          const t0 = performance.now();
          try {
            const requests = function* () {
              yield create(SegmentSlicesRequestSchema, {
                part: { case: "config", value: { modelId: "load", labelScheme: LabelScheme.BRATS2020 } },
              });
              for (const frame of tensorFrames({
                dtype: DataType.UINT8,
                shape: [SLICES_PER_STREAM, SIDE, SIDE, 4],
                data: images,
                name: "images",
                index: 0,
              }))
                yield create(SegmentSlicesRequestSchema, { part: { case: "frame", value: frame } });
            };
            let labels = 0;
            for await (const r of receiveTensors(
              c.segmentSlices(requests(), { deadlineMs: 120_000 }),
              (m) => m.frame,
            )) {
              if (r.name === "labels") labels++;
            }
            if (labels !== 1) throw new Error(`expected one label tensor, got ${labels}`);
            t.ok++;
            t.latenciesMs.push(performance.now() - t0);
          } catch (e) {
            t.errors[codeOf(e)] = (t.errors[codeOf(e)] ?? 0) + 1;
          }
        }
      } finally {
        c.close();
      }
    }),
  );
  return t;
}

/**
 * RSS after the load: sampled every second for SETTLE_SECONDS (default 20: longer than the ml buffer pool's idle
 * release, SYNTHMRI_BUFFER_POOL_IDLE_MS 10 s) after both loads have stopped; the last sample is the figure.
 */
async function settledRss(pid: number): Promise<{ mib: number; seconds: number; samples: number[] }> {
  const t0 = Date.now();
  const samples = [rssMiB(pid)];
  while (Date.now() - t0 < SETTLE_SECONDS * 1000) {
    await new Promise((r) => setTimeout(r, 1000));
    samples.push(rssMiB(pid));
  }
  return { mib: samples[samples.length - 1]!, seconds: (Date.now() - t0) / 1000, samples };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "load-bench-"));
  const s3 = await startEmbeddedS3({ dataDir: join(dir, "store") });
  const store = new MinioObjectStore({ ...s3, bucket: "synthmri" });
  await store.ensureBucket();
  await publishModel(new ArtifactStore({ store }));
  const [ingestPort, segPort] = [await freePort(), await freePort()];
  const metricsPort = { ingest: await freePort(), segmenter: await freePort() };
  const env = {
    HOST: "127.0.0.1",
    SYNTHMRI_DATA_DIR: join(dir, "data"),
    S3_ENDPOINT: s3.endpoint,
    S3_ACCESS_KEY: s3.accessKey,
    S3_SECRET_KEY: s3.secretKey,
    S3_BUCKET: "synthmri",
    DEID_SALT: "load-bench-salt-0123456789",
    LOG_LEVEL: "info",
    INGEST_PORT: String(ingestPort),
    SEGMENTER_PORT: String(segPort),
  };
  const procs: ChildProcess[] = [];
  try {
    const ingest = await startService("ingest", { ...env, METRICS_PORT: String(metricsPort.ingest) });
    procs.push(ingest);
    const segmenter = await startService("segmenter", { ...env, METRICS_PORT: String(metricsPort.segmenter) });
    procs.push(segmenter);
    const ingestAddr = `127.0.0.1:${ingestPort}`;
    const segAddr = `127.0.0.1:${segPort}`;
    // Warm-up: load paths and the model once, so "before" is the steady state of a serving process.
    await unaryOnce(ingestAddr);
    await streamWarmup(segAddr);
    const before = { ingest: rssMiB(ingest.pid!), segmenter: rssMiB(segmenter.pid!) };
    const detail = (p: ChildProcess, s: keyof typeof metricsPort) => memoryDetail(p.pid!, metricsPort[s]);
    const detailBefore = { ingest: await detail(ingest, "ingest"), segmenter: await detail(segmenter, "segmenter") };
    const unary = await unaryLoad(ingestAddr);
    const ingestEnd = rssMiB(ingest.pid!);
    const ingestEndDetail = await detail(ingest, "ingest");
    const streams = await streamLoad(segAddr);
    const segEnd = rssMiB(segmenter.pid!);
    const segEndDetail = await detail(segmenter, "segmenter");
    const [ingestAfter, segAfter] = await Promise.all([settledRss(ingest.pid!), settledRss(segmenter.pid!)]);
    const result = {
      bench: "load",
      seconds: SECONDS,
      unary: { rpc: "JobService.ListJobs (ingest)", clients: UNARY_CLIENTS, ...summary(unary, SECONDS) },
      segmentSlices: { streams: STREAMS, slicesPerStream: SLICES_PER_STREAM, side: SIDE, ...summary(streams, SECONDS) },
      rssMiB: {
        ingest: {
          before: before.ingest,
          endOfLoad: ingestEnd,
          after: ingestAfter.mib,
          settleSeconds: ingestAfter.seconds,
          settleSamples: ingestAfter.samples,
          detail: { before: detailBefore.ingest, endOfLoad: ingestEndDetail, after: await detail(ingest, "ingest") },
        },
        segmenter: {
          before: before.segmenter,
          endOfLoad: segEnd,
          after: segAfter.mib,
          settleSeconds: segAfter.seconds,
          settleSamples: segAfter.samples,
          detail: {
            before: detailBefore.segmenter,
            endOfLoad: segEndDetail,
            after: await detail(segmenter, "segmenter"),
          },
        },
      },
      rssWithin10Percent: ingestAfter.mib <= before.ingest * 1.1 && segAfter.mib <= before.segmenter * 1.1,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    for (const p of procs) p.kill("SIGTERM");
    await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once("exit", r)))));
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function unaryOnce(address: string): Promise<void> {
  const c = createClient(JobService, address);
  await c.listJobs({});
  c.close();
}

async function streamWarmup(address: string): Promise<void> {
  const c = createClient(SegmenterService, address);
  const images = new Uint8Array(SIDE * SIDE * 4);
  const requests = function* () {
    yield create(SegmentSlicesRequestSchema, { part: { case: "config", value: { modelId: "load" } } });
    for (const frame of tensorFrames({
      dtype: DataType.UINT8,
      shape: [1, SIDE, SIDE, 4],
      data: images,
      name: "images",
      index: 0,
    }))
      yield create(SegmentSlicesRequestSchema, { part: { case: "frame", value: frame } });
  };
  for await (const _ of c.segmentSlices(requests())) {
    // drain
  }
  c.close();
}

main().catch((e) => {
  process.stderr.write(`load bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
