// GPU bench runner (bench/gpu.sh): bench-unet train/infer, bench-gan train and the volume inference on a GPU backend
// (default webgpu; TF_BACKEND overrides), each next to the PyTorch figures that bench/torch_gpu.py measured on the
// same machine (--peer-file, JSON lines). One JSON line per bench, the shape of `npm run bench -- --json`:
//   {"bench":"unet-train","product_ms":..,"peer_ms":<torch cuda>,"ratio":product/peer,"backend":..,"note":..}
// plus peer_cpu_ms when torch also ran on the CPU. Exported as a function (not run at import) so the device pack's
// launcher (bench/gpu-pack.sh) can call it from an esbuild bundle.
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { type BackendPreference, initBackend, tf } from "@synthmri/ml";
import type { BenchResult } from "../types.js";
import { runProductBench } from "./product.js";
import {
  type AsyncBench,
  countStepsAsync,
  countStockDispatchesAsync,
  ganTrain,
  pgan256Train,
  seed000UnetTrain,
  type StepCounts,
  timeStepsAsync,
  unetInfer,
  unetTrain,
  volumeInfer,
} from "./steps.js";

const BENCHES = [
  "unet-train",
  "unet-infer",
  "gan-train",
  "volume-infer",
  "seed000-unet-train",
  "pgan256-train",
] as const;
type Bench = (typeof BENCHES)[number];

interface Args {
  only: Bench[];
  steps: number;
  warmup: number;
  peerFile?: string;
  out?: string;
  unetBatch: number;
  unetSize: number;
  ganBatch: number;
  volumeSlices: number;
  volumeSize: number;
  volumeChunk: number;
  volumeRepeats: number;
  /** Real-size benches (issue 15): seed-000 U-Net (batch 8 x 256x256) and PGAN at its top resolution (batch 16 x 256). */
  seedBatch: number;
  seedSize: number;
  pganBatch: number;
  pganSize: number;
}

const USAGE =
  "options: --only unet-train,unet-infer,gan-train,volume-infer --steps N --warmup N --peer-file F --out F " +
  "--unet-batch N --unet-size N --gan-batch N --volume-slices N --volume-size N --volume-chunk N --volume-repeats N " +
  "--seed-batch N --seed-size N --pgan-batch N --pgan-size N";

export function parseGpuBenchArgs(argv: string[]): Args {
  const a: Args = {
    only: [...BENCHES],
    steps: 10,
    warmup: 3,
    unetBatch: 4,
    unetSize: 128,
    ganBatch: 16,
    volumeSlices: 155,
    volumeSize: 240,
    volumeChunk: 16,
    volumeRepeats: 3,
    seedBatch: 8,
    seedSize: 256,
    pganBatch: 16,
    pganSize: 256,
  };
  const num = (k: string, v: string | undefined) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${k} takes a non-negative integer, got ${v}; ${USAGE}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[++i];
    if (v === undefined) throw new Error(`${k} needs a value; ${USAGE}`);
    if (k === "--only") {
      const names = v.split(",").map((s) => s.trim()) as Bench[];
      const bad = names.filter((n) => !BENCHES.includes(n));
      if (bad.length) throw new Error(`unknown bench ${bad.join(", ")}; ${USAGE}`);
      a.only = names;
    } else if (k === "--peer-file") a.peerFile = v;
    else if (k === "--out") a.out = v;
    else if (k === "--steps") a.steps = num(k, v);
    else if (k === "--warmup") a.warmup = num(k, v);
    else if (k === "--unet-batch") a.unetBatch = num(k, v);
    else if (k === "--unet-size") a.unetSize = num(k, v);
    else if (k === "--gan-batch") a.ganBatch = num(k, v);
    else if (k === "--volume-slices") a.volumeSlices = num(k, v);
    else if (k === "--volume-size") a.volumeSize = num(k, v);
    else if (k === "--volume-chunk") a.volumeChunk = num(k, v);
    else if (k === "--volume-repeats") a.volumeRepeats = num(k, v);
    else if (k === "--seed-batch") a.seedBatch = num(k, v);
    else if (k === "--seed-size") a.seedSize = num(k, v);
    else if (k === "--pgan-batch") a.pganBatch = num(k, v);
    else if (k === "--pgan-size") a.pganSize = num(k, v);
    else throw new Error(`unknown option ${k}; ${USAGE}`);
  }
  if (a.steps < 1) throw new Error("--steps must be at least 1");
  return a;
}

interface PeerLine {
  bench: string;
  device: string;
  ms_median: number;
  torch?: string;
  gpu?: string;
  threads?: number;
  sizes?: string;
}

/** torch_gpu.py's JSON lines (other lines, e.g. a failed run's message, are ignored). */
function readPeers(file: string | undefined): PeerLine[] {
  if (!file || !existsSync(file)) return [];
  const out: PeerLine[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const p = JSON.parse(line) as PeerLine;
      if (p.bench && typeof p.ms_median === "number") out.push(p);
    } catch {
      // not a figure
    }
  }
  return out;
}

const round = (v: number) => Math.round(v * 100) / 100;

/** `runGpuBench(["product", ...])` runs the product-level figures (./product.ts) instead of the bench nets. */
export async function runGpuBench(argv: string[]): Promise<BenchResult[]> {
  if (argv[0] === "product") return runProductBench(argv.slice(1));
  const args = parseGpuBenchArgs(argv);
  const log = (l: string) => process.stderr.write(`# ${l}\n`);
  const preferred = (process.env.TF_BACKEND as BackendPreference | undefined) ?? "webgpu";
  const info = await initBackend({ preferred });
  const backend = `${info.provider}${info.adapter ? ` (${info.adapter})` : ""}`;
  log(`backend ${backend}, tfjs ${tf.version_core}`);
  const peers = readPeers(args.peerFile);
  const results: BenchResult[] = [];
  const emit = (r: BenchResult) => {
    const line = `${JSON.stringify(r)}\n`;
    process.stdout.write(line);
    if (args.out) appendFileSync(args.out, line);
    results.push(r);
  };
  const sizes = (bench: Bench) =>
    bench === "seed000-unet-train"
      ? args.seedBatch !== 8 || args.seedSize !== 256
        ? `; NOT the paper's size: batch ${args.seedBatch} x ${args.seedSize}x${args.seedSize}`
        : ""
      : bench === "pgan256-train"
        ? args.pganBatch !== 16 || args.pganSize !== 256
          ? `; NOT the paper's size: batch ${args.pganBatch} x ${args.pganSize}x${args.pganSize}`
          : ""
        : bench === "gan-train"
          ? args.ganBatch !== 16
            ? `; NOT the spec's size: batch ${args.ganBatch}`
            : ""
          : args.unetBatch !== 4 || args.unetSize !== 128
            ? `; NOT the spec's size: batch ${args.unetBatch} x ${args.unetSize}x${args.unetSize}`
            : "";

  for (const bench of args.only) {
    const t0 = performance.now();
    let ms: number;
    let min: number;
    let what: string;
    let counts: StepCounts | undefined;
    let stockDispatches: number | undefined;
    try {
      if (bench === "volume-infer") {
        const v = await volumeInfer(args.volumeSlices, args.volumeSize, args.volumeChunk, args.volumeRepeats);
        ms = v.median;
        min = v.min;
        what = `${args.volumeSlices} slices ${args.volumeSize}x${args.volumeSize}x4 in chunks of ${args.volumeChunk}, median of ${args.volumeRepeats}`;
      } else {
        const b: AsyncBench =
          bench === "unet-train"
            ? unetTrain(args.unetBatch, args.unetSize)
            : bench === "unet-infer"
              ? unetInfer(args.unetBatch, args.unetSize)
              : bench === "seed000-unet-train"
                ? seed000UnetTrain(args.seedBatch, args.seedSize)
                : bench === "pgan256-train"
                  ? pgan256Train(args.pganBatch, args.pganSize)
                  : ganTrain(args.ganBatch);
        try {
          // The real-size nets take seconds per step on today's path: fewer steps keep gpu.sh under its 5 minutes.
          const real = bench === "seed000-unet-train" || bench === "pgan256-train";
          const steps = real ? Math.min(args.steps, 5) : args.steps;
          const warmup = real ? Math.min(args.warmup, 2) : args.warmup;
          const t = await timeStepsAsync(() => b.step(), warmup, steps);
          ms = t.median;
          min = t.min;
          what = `median of ${steps} steps after ${warmup} warm-up${sizes(bench)}`;
          // Device counts per step (deterministic; 2 steps after the timed ones), webgpu only.
          if (info.name === "webgpu") {
            counts = await countStepsAsync(() => b.step(), 0, 2);
            // Stock tfjs-backend-webgpu on the same net (fused kernels off): one warm-up step, one counted.
            stockDispatches = await countStockDispatchesAsync(() => b.step(), 1, 1);
          }
        } finally {
          b.dispose();
        }
      }
    } catch (e) {
      log(`${bench} failed: ${(e as Error).message}`);
      emit({ bench, backend, note: `failed: ${(e as Error).message}` });
      continue;
    }
    log(`${bench}: ${ms} ms (min ${min}; ${((performance.now() - t0) / 1000).toFixed(1)} s with warm-up)`);
    const gpu = peers.find((p) => p.bench === bench && p.device === "cuda");
    const cpu = peers.find((p) => p.bench === bench && p.device === "cpu");
    const note = [
      what,
      `min ${min} ms`,
      gpu ? `peer torch ${gpu.torch} cuda on ${gpu.gpu}${gpu.sizes ? ` (${gpu.sizes})` : ""}` : "no torch cuda figure",
      cpu ? `torch cpu ${cpu.threads} threads ${cpu.ms_median} ms` : "",
    ]
      .filter(Boolean)
      .join("; ");
    const r: BenchResult & { peer_cpu_ms?: number } = { bench, product_ms: ms, backend, note };
    if (counts) {
      // The project's fused webgpu kernels vs stock tfjs-backend-webgpu, same net, same run.
      r.dispatches = counts.dispatches;
      r.dispatches_stock = stockDispatches ?? counts.dispatches;
      r.buffers_created = counts.buffers_created;
      r.readback_bytes = counts.readback_bytes;
      r.submits = counts.submits;
    }
    if (gpu) {
      r.peer_ms = gpu.ms_median;
      r.ratio = round(ms / gpu.ms_median);
    }
    if (cpu) r.peer_cpu_ms = cpu.ms_median;
    emit(r);
  }
  return results;
}
