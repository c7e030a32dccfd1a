// Generator-family training steps (issues 21, 22) against PyTorch peers of the same architectures
// (bench/torch_families.py, run in the same session): ddpm-train = one DDPM step of the demo config (32x32x5,
// batch 8; parameter counts equal), stylegan2-train = the mean step of one regularisation period (4 steps, the
// first with lazy R1 + path length) of the demo StyleGAN2. ratio = product / peer (lower is better).
// `npx tsx bench/src/families.ts` runs it alone.
import { spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  backendInfo,
  DdpmModel,
  demoDdpmConfig,
  demoStyleGan2Config,
  initBackend,
  Rng,
  StyleGan2Model,
  tf,
} from "@synthmri/ml";
import { timeSteps } from "./nets/index.js";
import { peerUnavailable } from "./peer.js";
import type { BenchResult } from "./types.js";

const PEER = resolve(dirname(fileURLToPath(import.meta.url)), "../torch_families.py");
const BATCH = 8;

interface Figure {
  ms: number;
  params: number;
}

function productFigures(steps: number, warmup: number): Record<string, Figure> {
  const rng = new Rng(1);
  const real = tf.tensor4d(rng.fillUniform(new Float32Array(BATCH * 32 * 32 * 5), -1, 1), [BATCH, 32, 32, 5]);
  const out: Record<string, Figure> = {};
  try {
    const ddpm = new DdpmModel(demoDdpmConfig(), 0);
    try {
      out["ddpm-train"] = { ms: timeSteps(() => ddpm.trainStep(real), warmup, steps).median, params: ddpm.paramCount };
    } finally {
      ddpm.dispose();
    }
    const config = demoStyleGan2Config();
    const sg = new StyleGan2Model(config, 0);
    try {
      const period = () => {
        for (let i = 0; i < config.r1Interval; i++) sg.trainStep(real);
      };
      const t = timeSteps(period, warmup, steps);
      out["stylegan2-train"] = { ms: t.median / config.r1Interval, params: sg.paramCount };
    } finally {
      sg.dispose();
    }
  } finally {
    real.dispose();
  }
  return out;
}

function peerFigures(threads: number, steps: number, warmup: number, log: (l: string) => void): Record<string, Figure> {
  const args = [PEER, "--threads", String(threads), "--steps", String(steps), "--warmup", String(warmup)];
  const r = spawnSync("/usr/bin/python3", args, { encoding: "utf8" });
  const out: Record<string, Figure> = {};
  if (r.status !== 0) {
    log(`families peer failed (exit ${r.status}): ${(r.stderr ?? "").trim().split("\n").slice(-2).join(" | ")}`);
    return out;
  }
  for (const line of r.stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    const j = JSON.parse(line) as { bench: string; ms_median: number; params: number };
    out[j.bench] = { ms: j.ms_median, params: j.params };
  }
  return out;
}

export async function benchFamilies(
  opts: { threads?: number[]; steps?: number; warmup?: number; log?: (l: string) => void } = {},
): Promise<BenchResult[]> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const steps = opts.steps ?? 5;
  const warmup = opts.warmup ?? 1;
  const info = backendInfo() ?? (await initBackend());
  const backend = `${info.provider}${info.nativeKernels ? "+native" : ""}`;
  const why = peerUnavailable();
  if (why) log(`families: peer skipped: ${why}`);
  const results: BenchResult[] = [];
  for (const threads of opts.threads ?? [1]) {
    if (info.nativeKernels) {
      // The native addon's worker pool (not re-exported by @synthmri/ml; main.ts sets it the same way).
      const modPath = "../../packages/ml/src/native/index.js";
      const mod = (await import(modPath)) as { setNativeThreads?: (n: number) => void };
      mod.setNativeThreads?.(threads);
    } else if (threads > 1) continue; // wasm in Node and the JS cpu backend run on one thread
    const product = productFigures(steps, warmup);
    const peer = why ? {} : peerFigures(threads, steps, warmup, log);
    for (const [bench, p] of Object.entries(product)) {
      const q = peer[bench];
      results.push({
        bench,
        threads,
        backend,
        product_ms: Math.round(p.ms),
        ...(q ? { peer_ms: Math.round(q.ms), ratio: Math.round((p.ms / q.ms) * 100) / 100 } : {}),
        note: `demo config, batch ${BATCH}, 32x32x5; params product ${p.params}${q ? ` peer ${q.params}` : ""}`,
      });
    }
  }
  return results;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  for (const r of await benchFamilies()) process.stdout.write(`${JSON.stringify(r)}\n`);
}
