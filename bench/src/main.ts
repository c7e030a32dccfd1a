// `npm run bench [-- --json] [-- --only unet-train,gan-train,grpc-stream] [-- --threads 1,2] [-- --steps 10 --warmup 3]
//   [-- --profile [--profile-steps 3]]`
// Product figures (bench-unet / bench-gan on the resolved backend) next to the PyTorch peer measured in
// the same run, then the other bench modules. One JSON line per figure; ratio = product / peer (lower is better).
import os from "node:os";
import { initBackend, tf } from "@synthmri/ml";
import { benchGanTrain } from "./gan.js";
import {
  countStepsAsync,
  countStockDispatchesAsync,
  ganTrain,
  type StepCounts,
  timeStepsAsync,
  unetInfer,
  unetTrain,
} from "./gpu/steps.js";
import { type PeerFigure, peerUnavailable, runTorchPeer } from "./peer.js";
import { formatProfile, profileProductBench } from "./profile.js";
import type { BenchResult } from "./types.js";
import { benchUnetInfer, benchUnetTrain } from "./unet.js";

interface Args {
  json: boolean;
  only: Set<string> | null;
  threads: number[];
  steps: number;
  warmup: number;
  /** Per-op profile (time per kernel kind, allocations per step) of each product bench and thread count. */
  profile: boolean;
  profileSteps: number;
  /** webgpu rows only: sizes other than the spec's, for lavapipe (counts per step do not depend on them). */
  unetBatch: number;
  unetSize: number;
  ganBatch: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    json: false,
    only: null,
    threads: [1, os.cpus().length],
    steps: 10,
    warmup: 3,
    profile: false,
    profileSteps: 3,
    unetBatch: 4,
    unetSize: 128,
    ganBatch: 16,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === "--json") a.json = true;
    else if (k === "--only")
      a.only = new Set(
        v()
          .split(",")
          .map((s) => s.trim()),
      );
    else if (k === "--threads")
      a.threads = [
        ...new Set(
          v()
            .split(",")
            .map((s) => (s === "all" ? os.cpus().length : Number(s))),
        ),
      ];
    else if (k === "--steps") a.steps = Number(v());
    else if (k === "--warmup") a.warmup = Number(v());
    else if (k === "--profile") a.profile = true;
    else if (k === "--profile-steps") a.profileSteps = Number(v());
    else if (k === "--unet-batch") a.unetBatch = Number(v());
    else if (k === "--unet-size") a.unetSize = Number(v());
    else if (k === "--gan-batch") a.ganBatch = Number(v());
    else
      throw new Error(
        `unknown option ${k}; use --json, --only a,b, --threads 1,2, --steps N, --warmup N, --profile, --profile-steps N (webgpu: --unet-batch N --unet-size N --gan-batch N)`,
      );
  }
  if (a.threads.some((t) => !Number.isInteger(t) || t < 1))
    throw new Error("--threads takes positive integers or 'all'");
  return a;
}

/**
 * Other bench modules, imported when present (written by other areas). Each returns BenchResult[];
 * `names` are the --only names that select it. Add new modules here.
 */
const MODULES: {
  names: string[];
  file: string;
  fn: string;
  options: (a: Args, log: (l: string) => void) => Record<string, unknown>;
}[] = [
  { names: ["grpc-stream", "stream"], file: "./stream.js", fn: "benchStream", options: (_a, log) => ({ log }) },
  { names: ["nifti-parse", "nifti"], file: "./nifti.js", fn: "benchNifti", options: (_a, log) => ({ log }) },
  { names: ["ingest-rss", "ingest"], file: "./ingest-rss.js", fn: "benchIngestRss", options: (_a, log) => ({ log }) },
  { names: ["pgan-train", "pgan"], file: "./pgan.js", fn: "benchPgan", options: (_a, log) => ({ log }) },
  {
    names: ["families", "ddpm-train", "stylegan2-train"],
    file: "./families.js",
    fn: "benchFamilies",
    options: (a, log) => ({ threads: a.threads, log }),
  },
  { names: ["gan-demo"], file: "./gan.js", fn: "benchGanDemo", options: (a, log) => ({ log, steps: a.steps }) },
  {
    names: ["volume-infer"],
    file: "./volume-infer.js",
    fn: "benchVolumeInfer",
    options: (a, log) => ({ threads: a.threads, log }),
  },
];

const round = (v: number) => Math.round(v * 100) / 100;

async function setProductThreads(n: number, nativeKernels: boolean): Promise<number> {
  if (!nativeKernels) return 1; // wasm in Node and the JS cpu backend run on one thread
  const modPath = "../../packages/ml/src/native/index.js";
  const mod = (await import(modPath)) as { setNativeThreads?: (n: number) => void };
  mod.setNativeThreads?.(n);
  return n;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (l: string) => process.stderr.write(`# ${l}\n`);
  const emit = (r: BenchResult) => {
    if (args.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else {
      const fig =
        r.product_ms !== undefined
          ? `${r.product_ms} ms`
          : r.product_mb_s !== undefined
            ? `${r.product_mb_s} MB/s`
            : "-";
      const peer =
        r.peer_ms !== undefined ? `${r.peer_ms} ms` : r.peer_mb_s !== undefined ? `${r.peer_mb_s} MB/s` : "-";
      process.stdout.write(
        `${r.bench.padEnd(14)} threads=${r.threads ?? "-"} product=${fig.padEnd(12)} peer=${peer.padEnd(12)} ratio=${r.ratio ?? "-"} ${r.backend ?? ""} ${r.note ?? ""}\n`,
      );
    }
  };
  const want = (name: string) => !args.only || args.only.has(name);

  const info = await initBackend({ threads: Math.max(...args.threads) });
  const backend = `${info.provider}${info.nativeKernels ? "+native" : ""}${info.simd ? "+simd" : ""}`;
  log(`backend ${backend}, tfjs ${tf.version_core}`);

  const productBenches = ["unet-train", "unet-infer", "gan-train"].filter(want);
  if (productBenches.length > 0 && info.name === "webgpu") {
    // GPU rows (issue 15): async steps (no dataSync on webgpu), times plus device counts per step; the PyTorch peer
    // of a GPU figure is bench/gpu.sh's (CUDA on the same machine), not this machine's CPU torch.
    for (const b of productBenches) for (const r of await webgpuRow(b, args, backend, log)) emit(r);
  } else if (productBenches.length > 0) {
    const unavailable = peerUnavailable();
    if (unavailable) log(`peer skipped: ${unavailable}`);
    const product = new Map<string, { ms: number; threads: number }>();
    const profiles: BenchResult[] = [];
    for (const n of args.threads) {
      const used = await setProductThreads(n, info.nativeKernels);
      for (const b of productBenches) {
        log(`product ${b} threads=${n} (backend threads ${used}) ...`);
        const r =
          b === "unet-train"
            ? benchUnetTrain(args.steps, args.warmup)
            : b === "unet-infer"
              ? benchUnetInfer(args.steps, args.warmup)
              : benchGanTrain(args.steps, args.warmup);
        log(`product ${b} threads=${n}: median ${r.median} ms, min ${r.min} ms, params ${r.params}`);
        product.set(`${b}@${n}`, { ms: r.median, threads: used });
        if (args.profile) {
          const p = await profileProductBench(b, args.profileSteps);
          for (const l of formatProfile(`profile ${b} threads=${n}`, p)) log(l);
          profiles.push({ bench: `${b}-profile`, threads: n, backend, profile: p });
        }
      }
    }
    let peer: PeerFigure[] = [];
    if (!unavailable) {
      const benches = [...new Set(productBenches.map((b) => (b.startsWith("unet") ? "unet" : "gan")))] as (
        | "unet"
        | "gan"
      )[];
      peer = runTorchPeer({ benches, threads: args.threads, steps: args.steps, warmup: args.warmup, log });
    }
    for (const n of args.threads) {
      for (const b of productBenches) {
        const p = product.get(`${b}@${n}`);
        const q = peer.find((f) => f.bench === b && f.threads === n);
        const note = [
          p && p.threads !== n ? `product backend runs ${p.threads} thread(s)` : "",
          unavailable ? `peer skipped: ${unavailable}` : q ? `peer torch ${q.torch}` : "peer gave no figure",
        ]
          .filter(Boolean)
          .join("; ");
        emit({
          bench: b,
          product_ms: p?.ms,
          peer_ms: q?.ms_median,
          ratio: p && q ? round(p.ms / q.ms_median) : undefined,
          threads: n,
          backend,
          note,
        });
      }
    }
    if (args.json) for (const p of profiles) emit(p);
  }

  for (const m of MODULES) {
    if (args.only && !m.names.some((n) => args.only?.has(n))) continue;
    let mod: Record<string, unknown>;
    try {
      mod = (await import(m.file)) as Record<string, unknown>;
    } catch (e) {
      log(`${m.names[0]}: module ${m.file} not present, skipped (${(e as Error).message.split("\n")[0]})`);
      continue;
    }
    const fn = mod[m.fn];
    if (typeof fn !== "function") {
      log(`${m.names[0]}: ${m.file} has no ${m.fn}(), skipped`);
      continue;
    }
    try {
      const results = (await fn(m.options(args, log))) as BenchResult[];
      for (const r of results) emit(r);
    } catch (e) {
      log(`${m.names[0]} failed: ${(e as Error).message}`);
      emit({ bench: m.names[0], note: `failed: ${(e as Error).message}` });
    }
  }
}

async function webgpuRow(b: string, args: Args, backend: string, log: (l: string) => void): Promise<BenchResult[]> {
  const net =
    b === "unet-train"
      ? unetTrain(args.unetBatch, args.unetSize)
      : b === "unet-infer"
        ? unetInfer(args.unetBatch, args.unetSize)
        : ganTrain(args.ganBatch);
  try {
    const t = await timeStepsAsync(() => net.step(), args.warmup, args.steps);
    // Counted after the timed steps: pools are full and pipelines compiled; counts are the same at every size.
    const c: StepCounts = await countStepsAsync(() => net.step(), 0, Math.min(args.steps, 3));
    // The same net on stock tfjs-backend-webgpu (fused kernels off), same run: one warm-up step compiles its pipelines.
    const stock = await countStockDispatchesAsync(() => net.step(), 1, Math.min(args.steps, 3));
    const size =
      b === "gan-train" ? `batch ${args.ganBatch}` : `batch ${args.unetBatch} x ${args.unetSize}x${args.unetSize}`;
    log(`product ${b} webgpu: median ${t.median} ms; ${JSON.stringify(c)}`);
    return [
      {
        bench: b,
        product_ms: t.median,
        backend,
        // The project's fused webgpu kernels vs stock tfjs-backend-webgpu on the same net in the same run.
        dispatches: c.dispatches,
        dispatches_stock: stock,
        buffers_created: c.buffers_created,
        readback_bytes: c.readback_bytes,
        submits: c.submits,
        note: `${size}; median of ${args.steps} after ${args.warmup} warm-up; counts per step after warm-up; path: project fused WGSL kernels (kernels/webgpu) over tfjs-backend-webgpu, pooled uploads, no recorded step; upload ${c.upload_bytes} B/step`,
      },
    ];
  } catch (e) {
    log(`${b} failed on webgpu: ${(e as Error).message}`);
    return [{ bench: b, backend, note: `failed: ${(e as Error).message}` }];
  } finally {
    net.dispose();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`bench failed: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
