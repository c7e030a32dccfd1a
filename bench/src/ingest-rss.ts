// ingest-rss: peak RSS of a whole ingest (embedded S3 + ingest server + ImportDirectory over gRPC, all in
// one child process, as `synthmri ingest` runs) for 20 and for 100 phantom subjects. Memory must stay flat
// (one subject + one shard per split in flight) and under 1 GiB. Runnable alone: `npx tsx bench/src/ingest-rss.ts`.
// Env: INGEST_RSS_SIZE (default 120x120x78, an eighth of BraTS' voxels, so the bench runs in minutes on
// 2 cores), INGEST_RSS_COUNTS (default 20,100).
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchResult } from "./types.js";

const CHILD_FLAG = "SYNTHMRI_INGEST_RSS_CHILD";
const UNIQUE_SUBJECTS = 10;

interface ChildResult {
  subjects: number;
  seconds: number;
  peakRssMb: number;
  maxRssMb: number;
}

/** Child: embedded store + ingest server + one import, sampling RSS; prints one JSON line. */
async function child(cohort: string, dataDir: string): Promise<void> {
  const { IngestService, OnError } = await import("@synthmri/contracts");
  const { MinioObjectStore, startEmbeddedS3 } = await import("@synthmri/platform");
  const { createClient } = await import("@synthmri/rpc");
  const { startServer } = await import("@synthmri/ingest");
  let peak = 0;
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage.rss());
  };
  const timer = setInterval(sample, 25);
  const s3 = await startEmbeddedS3({ dataDir });
  const store = new MinioObjectStore({ ...s3, bucket: "synthmri" });
  await store.ensureBucket();
  const server = await startServer({ store, salt: "bench-salt-0123456789abcdef" });
  const client = createClient(IngestService, server.address);
  const t0 = performance.now();
  let subjects = 0;
  for await (const m of client.importDirectory({
    source: { case: "localPath", value: cohort },
    onError: OnError.FAIL,
    split: { testCount: 1 },
  })) {
    sample();
    if (m.report) subjects = m.report.subjectsImported;
  }
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(timer);
  sample();
  client.close();
  await server.close();
  await s3.close();
  const result: ChildResult = {
    subjects,
    seconds,
    peakRssMb: peak / 2 ** 20,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function runChild(cohort: string, dataDir: string): Promise<ChildResult> {
  const require = createRequire(import.meta.url);
  const tsx = require.resolve("tsx/cli");
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [tsx, self], {
      env: { ...process.env, [CHILD_FLAG]: JSON.stringify({ cohort, dataDir }), LOG_LEVEL: "silent" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => {
      out += d;
    });
    p.stderr.on("data", (d) => {
      err += d;
    });
    p.on("error", reject);
    p.on("exit", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      if (code !== 0 || !line.startsWith("{")) reject(new Error(`ingest child exited ${code}: ${err.slice(-2000)}`));
      else resolve(JSON.parse(line) as ChildResult);
    });
  });
}

/** A cohort of n subject dirs made of UNIQUE_SUBJECTS phantoms copied under new ids (generation is the slow part). */
async function writeCohort(root: string, n: number, size: [number, number, number]): Promise<void> {
  const { generatePhantomSubject, phantomSubjectFiles } = await import("@synthmri/volume");
  const uniq = join(root, "..", "unique");
  mkdirSync(uniq, { recursive: true });
  if (readdirSync(uniq).length < UNIQUE_SUBJECTS) {
    for (let i = 0; i < UNIQUE_SUBJECTS; i++) {
      const s = generatePhantomSubject(i, { size, seed: "rss" });
      for (const [f, bytes] of Object.entries(phantomSubjectFiles(s))) {
        writeFileSync(join(uniq, f.replace(s.id, `U${i}`)), bytes);
      }
    }
  }
  for (let i = 0; i < n; i++) {
    const id = `BraTS20_Training_${String(i + 1).padStart(3, "0")}`;
    mkdirSync(join(root, id), { recursive: true });
    for (const role of ["t1", "t1ce", "t2", "flair", "seg"]) {
      copyFileSync(join(uniq, `U${i % UNIQUE_SUBJECTS}_${role}.nii.gz`), join(root, id, `${id}_${role}.nii.gz`));
    }
  }
}

export async function benchIngestRss(options: { log?: (l: string) => void } = {}): Promise<BenchResult[]> {
  const log = options.log ?? ((l: string) => console.error(l));
  const size = (process.env.INGEST_RSS_SIZE ?? "120x120x78").split("x").map(Number) as [number, number, number];
  const counts = (process.env.INGEST_RSS_COUNTS ?? "20,100").split(",").map(Number);
  const dir = mkdtempSync(join(tmpdir(), "bench-ingest-rss-"));
  const results: BenchResult[] = [];
  try {
    const figures: ChildResult[] = [];
    for (const n of counts) {
      const cohort = join(dir, `cohort-${n}`);
      await writeCohort(cohort, n, size);
      log(`ingest-rss: ingesting ${n} phantom subjects of ${size.join("x")} in a child process`);
      const r = await runChild(cohort, join(dir, `data-${n}`));
      figures.push(r);
      results.push({
        bench: `ingest-rss-${n}`,
        product_ms: r.seconds * 1000,
        note: `${r.subjects} subjects ${size.join("x")}: peak RSS ${r.peakRssMb.toFixed(0)} MiB (maxRSS ${r.maxRssMb.toFixed(0)} MiB), ${(r.seconds / Math.max(1, r.subjects)).toFixed(2)} s/subject; limit 1024 MiB`,
      });
      rmSync(join(dir, `data-${n}`), { recursive: true, force: true });
      rmSync(cohort, { recursive: true, force: true });
    }
    if (figures.length >= 2) {
      const a = figures[0];
      const b = figures[figures.length - 1];
      results.push({
        bench: "ingest-rss-growth",
        ratio: b.maxRssMb / a.maxRssMb,
        note: `maxRSS ${a.subjects} -> ${b.subjects} subjects: ${a.maxRssMb.toFixed(0)} -> ${b.maxRssMb.toFixed(0)} MiB (flat = ratio near 1; both must stay under 1024 MiB)`,
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

const childSpec = process.env[CHILD_FLAG];
if (childSpec) {
  const { cohort, dataDir } = JSON.parse(childSpec) as { cohort: string; dataDir: string };
  child(cohort, dataDir).then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  benchIngestRss().then((rs) => {
    for (const r of rs) console.log(JSON.stringify(r));
  });
}
