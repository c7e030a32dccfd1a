// PGAN training throughput (images/s) at 64x64 and 128x128 on the resolved backend: the project's PganModel
// with the seed-000 settings (latent 512, fmap_base 8192, WGAN-GP, 5 channels) at its final level (alpha 1),
// one D step with gradient penalty + one G step per minibatch. fmap_max defaults to 128, not the paper's 512:
// at 512 a batch of 16 at 64x64 aborts the wasm backend (its heap stops at 4 GiB); PGAN_BENCH_FMAP_MAX=512
// measures the full nets where memory allows (cpu backend, GPU). No peer: this is the product figure
// the issue asks for. `npx tsx bench/src/pgan.ts` runs it alone; PGAN_BENCH_STEPS / PGAN_BENCH_FMAP_MAX /
// PGAN_BENCH_BATCH shrink it on slow machines.
import { fileURLToPath } from "node:url";
import { backendInfo, createGan, defaultGanConfig, initBackend, Rng, tf } from "@synthmri/ml";
import { timeSteps } from "./nets/index.js";
import type { BenchResult } from "./types.js";

export interface PganBenchOptions {
  resolutions?: number[];
  /** Minibatch (PGAN paper: 16 at 64 and 128). */
  batch?: number;
  steps?: number;
  warmup?: number;
  fmapMax?: number;
  log?: (line: string) => void;
}

export async function benchPgan(options: PganBenchOptions = {}): Promise<BenchResult[]> {
  const env = process.env;
  const resolutions = options.resolutions ?? [64, 128];
  const batch = options.batch ?? (Number(env.PGAN_BENCH_BATCH) || 16);
  const steps = options.steps ?? (Number(env.PGAN_BENCH_STEPS) || 3);
  const warmup = options.warmup ?? 1;
  const fmapMax = options.fmapMax ?? (Number(env.PGAN_BENCH_FMAP_MAX) || 128);
  const info = backendInfo() ?? (await initBackend());
  const backend = `${info.provider}${info.nativeKernels ? "+native" : ""}${info.simd ? "+simd" : ""}`;
  const out: BenchResult[] = [];
  for (const res of resolutions) {
    const config = defaultGanConfig({ family: "pgan", resolution: res, fmapMax });
    const model = createGan(config, 0);
    const level = Math.log2(res) - 2;
    model.setGrowth({ level, alpha: 1 });
    const rng = new Rng(1);
    const real = tf
      .tensor4d(rng.fillUniform(new Float32Array(batch * res * res * 5)), [batch, res, res, 5])
      .mul(2)
      .sub(1) as tf.Tensor4D;
    try {
      let last = { d: Number.NaN, g: Number.NaN };
      // A failing size (e.g. wasm's 4 GiB heap) is reported as a figure-less line, not a crashed bench run.
      const t = timeSteps(
        () => {
          last = model.trainStep(real);
        },
        warmup,
        steps,
      );
      if (!Number.isFinite(last.d) || !Number.isFinite(last.g)) throw new Error(`PGAN ${res}: losses not finite`);
      const imagesPerSecond = (batch * 1000) / t.median;
      const r: BenchResult = {
        bench: `pgan-train-${res}`,
        product_ms: t.median,
        backend,
        threads: info.threads,
        note: `${imagesPerSecond.toFixed(2)} images/s; batch ${batch}, median of ${steps} steps (D+GP then G), ${(model.paramCount / 1e6).toFixed(1)}M params, fmap_max ${fmapMax}`,
      };
      options.log?.(JSON.stringify(r));
      out.push(r);
    } catch (e) {
      const r: BenchResult = {
        bench: `pgan-train-${res}`,
        backend,
        note: `failed at batch ${batch}, fmap_max ${fmapMax}: ${e instanceof Error ? e.message : String(e)}`,
      };
      options.log?.(JSON.stringify(r));
      out.push(r);
    } finally {
      real.dispose();
      model.dispose();
    }
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await benchPgan({ log: (line) => console.log(line) });
}
