// Product-level GPU figures (bench/gpu.sh, after the bench-net figures): the product's own training loops, not the
// bench nets. trainSegmenter on the demo U-Net (experiments/demo.yaml: depth 3, base 8, max 32, deep supervision 2,
// batch 8, 32x32 patches of 64x64 slices) and on seed 000's U-Net (SEED000_UNET: 6 levels 32..512, 5 heads, 256x256
// slices, batch 8 as DEFAULT_SEG_TRAIN), and trainGan on the demo PGAN (16x16, batch 8, fmap 8..32, latent 64,
// WGAN-GP). Each is timed in images/s from the loops' own progress callbacks, after warm-up iterations (shader
// compilation on webgpu), so host-side sampling, cropping and the loss read are included as the services see them.
// Every figure is written as soon as it is measured; a phase that would start within 5 s of --deadline-s is skipped.
import { appendFileSync } from "node:fs";
import { Cancelled } from "@synthmri/platform";
import {
  arraySegSource,
  arraySliceSource,
  defaultGanConfig,
  initBackend,
  Rng,
  type SegSample,
  SEED000_UNET,
  tf,
  trainGan,
  trainSegmenter,
} from "@synthmri/ml";
import type { BenchResult } from "../types.js";

const PHASES = ["demo-unet", "demo-pgan", "seed000-unet"] as const;
type Phase = (typeof PHASES)[number];

interface ProductArgs {
  /** Which phases per backend, in run order: "webgpu:demo-unet". */
  plan: { backend: string; phase: Phase }[];
  unetIters: number;
  ganSteps: number;
  seedIters: number;
  warmup: number;
  seedSize: number;
  deadlineS: number;
  /** Wall-clock budget of each demo phase and of the seed-000 phase (never past --deadline-s). */
  phaseBudgetS: number;
  seedBudgetS: number;
  out?: string;
}

const USAGE =
  "options: --plan webgpu:demo-unet,webgpu:demo-pgan,cpu:demo-unet,cpu:demo-pgan,webgpu:seed000-unet " +
  "--unet-iters N --gan-steps N --seed-iters N --warmup N --seed-size N --deadline-s S --phase-budget-s S --seed-budget-s S --out F";

export function parseProductArgs(argv: string[]): ProductArgs {
  const a: ProductArgs = {
    plan: [
      { backend: "webgpu", phase: "demo-unet" },
      { backend: "webgpu", phase: "demo-pgan" },
      { backend: "webgpu", phase: "seed000-unet" },
      { backend: "cpu", phase: "demo-unet" },
      { backend: "cpu", phase: "demo-pgan" },
    ],
    unetIters: 40,
    ganSteps: 40,
    seedIters: 3,
    warmup: 2,
    seedSize: 256,
    deadlineS: 100,
    phaseBudgetS: 15,
    seedBudgetS: 40,
  };
  const num = (k: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${k} takes an integer >= ${min}, got ${v}; ${USAGE}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[++i];
    if (v === undefined) throw new Error(`${k} needs a value; ${USAGE}`);
    if (k === "--plan") {
      a.plan = v.split(",").map((item) => {
        const [backend, phase] = item.trim().split(":");
        if (!backend || !PHASES.includes(phase as Phase))
          throw new Error(`--plan item ${item} is not backend:${PHASES.join("|")}; ${USAGE}`);
        return { backend, phase: phase as Phase };
      });
    } else if (k === "--unet-iters") a.unetIters = num(k, v, 1);
    else if (k === "--gan-steps") a.ganSteps = num(k, v, 1);
    else if (k === "--seed-iters") a.seedIters = num(k, v, 1);
    else if (k === "--warmup") a.warmup = num(k, v, 0);
    else if (k === "--seed-size") a.seedSize = num(k, v, 32);
    else if (k === "--deadline-s") a.deadlineS = num(k, v, 1);
    else if (k === "--phase-budget-s") a.phaseBudgetS = num(k, v, 1);
    else if (k === "--seed-budget-s") a.seedBudgetS = num(k, v, 1);
    else if (k === "--out") a.out = v;
    else throw new Error(`unknown option ${k}; ${USAGE}`);
  }
  if (a.seedSize % 32 !== 0) throw new Error(`--seed-size must be a multiple of 32 (6 levels), got ${a.seedSize}`);
  return a;
}

/** Random slices of `size`x`size`x4 with a disc labelled ED/ET (labels matter only for the loss's classes). */
function slices(n: number, size: number, seed: number): SegSample[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const image = rng.fillNormal(new Float32Array(size * size * 4));
    const label = new Uint8Array(size * size);
    const cy = rng.uniform(size / 4, (3 * size) / 4);
    const cx = rng.uniform(size / 4, (3 * size) / 4);
    const r = size / 8;
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        const d = Math.hypot(y - cy, x - cx);
        if (d < r) label[y * size + x] = d < r / 2 ? 3 : 2;
      }
    return { height: size, width: size, channels: 4, image, label };
  });
}

interface Timing {
  imagesPerSecond: number;
  msPerIteration: number;
  timed: number;
}

/** Images/s over the iterations after `warmup`, from the time stamps taken in the progress callback. */
function rate(stamps: number[], warmup: number, batch: number): Timing {
  const done = stamps.length - 1;
  if (done < 1) throw new Error("no iteration finished within the phase's budget");
  // Cut short before any timed iteration: the last one (shader compilation included) as an upper bound.
  const from = done - 1 - warmup >= 0 ? warmup : done - 1;
  const timed = done - from;
  const ms = (stamps[done] - stamps[from]) / timed;
  return { imagesPerSecond: (1000 * batch) / ms, msPerIteration: ms, timed: from === warmup ? timed : 0 };
}

/** Aborts once `budgetMs` has passed since it was made (checked by the loops between iterations). */
function budget(budgetMs: number): AbortSignal {
  const ac = new AbortController();
  const end = performance.now() + budgetMs;
  const check = () => {
    if (performance.now() >= end) ac.abort();
  };
  return Object.assign(ac.signal, { check });
}

async function segmenterRun(
  unet: Record<string, unknown>,
  size: number,
  patch: number | undefined,
  iters: number,
  warmup: number,
  budgetMs: number,
): Promise<Timing> {
  const batch = 8;
  const signal = budget(budgetMs) as AbortSignal & { check(): void };
  const train = arraySegSource(slices(16, size, 1));
  const stamps: number[] = [];
  const total = warmup + iters;
  stamps.push(performance.now());
  const res = await trainSegmenter({
    config: {
      unet,
      batchSize: batch,
      epochs: 1,
      iterationsPerEpoch: total,
      momentum: 0.9,
      augmentation: { enabled: false },
      ...(patch ? { patchSize: patch } : {}),
    },
    data: { train: [train], validation: arraySegSource([]) },
    seed: 0,
    signal,
    onProgress: (p) => {
      if (p.kind === "iteration") {
        stamps.push(performance.now());
        signal.check();
      }
    },
  });
  res.model.dispose();
  return rate(stamps, warmup, batch);
}

async function ganRun(steps: number, warmup: number, budgetMs: number): Promise<Timing> {
  const batch = 8;
  const signal = budget(budgetMs) as AbortSignal & { check(): void };
  const res = 16;
  const n = 64;
  const data = new Rng(2).fillUniform(new Float32Array(n * res * res * 5), -1, 1);
  // demo.yaml: fmap_min 8 -> fmapBase = 8 * 2^(log2(16) - 1) = 64 (services/generator/src/domain/params.ts).
  const config = defaultGanConfig({ family: "pgan", resolution: res, latentSize: 64, fmapBase: 64, fmapMax: 32 });
  // One step per phase up to 16x16, then steps at the final resolution: only those are timed.
  const growImages = 5 * batch;
  const stamps: number[] = [];
  const out = await trainGan({
    signal,
    config,
    data: arraySliceSource(data, n, res, 5),
    seed: 0,
    schedule: {
      stabiliseImages: batch,
      fadeImages: batch,
      totalImages: growImages + (warmup + steps + 1) * batch,
      batchSizes: [batch],
    },
    checkpointEveryKimg: 1000,
    progressEveryImages: 0,
    onProgress: (p) => {
      if (p.phase === "final") stamps.push(performance.now());
      signal.check();
    },
  }).catch((e) => {
    // Out of budget: trainGan throws Cancelled (and disposes the model); the steps so far are the figure.
    if (e instanceof Cancelled) return null;
    throw e;
  });
  out?.model.dispose();
  return rate(stamps, warmup, batch);
}

/**
 * Makes `backend` current. The GPU one goes through initBackend (once per process; TF_BACKEND wins, as in the
 * services); others (cpu) by tf.setBackend: the project's cpu kernels are registered on import, the native addon
 * is used where it loads (not from the device pack, which runs with SYNTHMRI_NATIVE=0).
 */
async function useBackend(backend: string, names: Map<string, string>): Promise<string> {
  const known = names.get(backend);
  if (known) {
    await tf.setBackend(backend);
    return known;
  }
  let name: string;
  if (backend === "webgpu" || backend === "tensorflow-gpu" || backend === "tensorflow") {
    const info = await initBackend({ preferred: backend });
    if (info.name !== (backend === "tensorflow-gpu" ? "tensorflow" : backend))
      throw new Error(`asked for ${backend}, initBackend gave ${info.name} (TF_BACKEND=${process.env.TF_BACKEND})`);
    name = `${info.provider}${info.adapter ? ` (${info.adapter})` : ""}`;
  } else {
    if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} did not start`);
    name = `tfjs ${backend} ${tf.version_core}, 1 thread`;
  }
  names.set(backend, name);
  return name;
}

const round = (v: number, d = 2) => Math.round(v * 10 ** d) / 10 ** d;

export async function runProductBench(argv: string[]): Promise<BenchResult[]> {
  const args = parseProductArgs(argv);
  const started = performance.now();
  const log = (l: string) => process.stderr.write(`# ${l}\n`);
  const results: BenchResult[] = [];
  const backends = new Map<string, string>();
  for (const { backend, phase } of args.plan) {
    const elapsed = (performance.now() - started) / 1000;
    const bench = `product-${phase}`;
    // Under 5 s left: not even a warm-up iteration would finish, so the phase is skipped rather than failed.
    if (elapsed > args.deadlineS - 5) {
      log(`${backend} ${phase} skipped: ${elapsed.toFixed(0)} s of --deadline-s ${args.deadlineS} gone`);
      continue;
    }
    const name = await useBackend(backend, backends);
    const t0 = performance.now();
    const left = args.deadlineS - elapsed;
    const budgetMs = 1000 * Math.min(phase === "seed000-unet" ? args.seedBudgetS : args.phaseBudgetS, left);
    log(`${backend} ${phase}: started (budget ${(budgetMs / 1000).toFixed(0)} s)`);
    let r: BenchResult & { images_per_s?: number };
    try {
      const t =
        phase === "demo-unet"
          ? await segmenterRun(
              { widths: [8, 16, 32], deepSupervisionHeads: 2 },
              64,
              32,
              args.unetIters,
              args.warmup,
              budgetMs,
            )
          : phase === "demo-pgan"
            ? await ganRun(args.ganSteps, args.warmup, budgetMs)
            : await segmenterRun(
                { ...SEED000_UNET, inputSize: [args.seedSize, args.seedSize] },
                args.seedSize,
                undefined,
                args.seedIters,
                Math.min(args.warmup, 1),
                budgetMs,
              );
      const what =
        phase === "demo-unet"
          ? "trainSegmenter, demo U-Net [8,16,32] ds 2, batch 8, 32x32 patches of 64x64"
          : phase === "demo-pgan"
            ? "trainGan, demo PGAN 16x16 (fmap 8..32, latent 64, WGAN-GP), batch 8, at 16x16"
            : `trainSegmenter, seed-000 U-Net [32..512] ds 5, batch 8, ${args.seedSize}x${args.seedSize}${args.seedSize !== 256 ? " (NOT the seed's 256)" : ""}`;
      r = {
        bench,
        product_ms: round(t.msPerIteration),
        images_per_s: round(t.imagesPerSecond),
        backend: name,
        note: `${what}; ${t.timed ? `ms per iteration, mean of ${t.timed} after warm-up` : "budget hit before a timed iteration: the last warm-up iteration (compilation included), an upper bound"}; ${((performance.now() - t0) / 1000).toFixed(1)} s in all`,
      };
      log(`${backend} ${phase}: ${r.images_per_s} images/s (${r.product_ms} ms/iteration)`);
    } catch (e) {
      log(`${backend} ${phase} failed: ${(e as Error).message}`);
      r = { bench, backend: name, note: `failed: ${(e as Error).message}` };
    }
    const line = `${JSON.stringify(r)}\n`;
    process.stdout.write(line);
    if (args.out) appendFileSync(args.out, line);
    results.push(r);
  }
  return results;
}
