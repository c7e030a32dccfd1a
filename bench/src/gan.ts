// bench-gan train step (shared/peers/SPEC.md) on the resolved backend, and the demo GAN's throughput.
import { createGan, defaultGanConfig, tf } from "@synthmri/ml";
import { createBenchGan, timeSteps } from "./nets/index.js";
import type { BenchResult } from "./types.js";

export function benchGanTrain(
  steps: number,
  warmup: number,
): { median: number; min: number; params: number; lossD: number; lossG: number } {
  const g = createBenchGan(0);
  try {
    let last = { lossD: Number.NaN, lossG: Number.NaN };
    const t = timeSteps(
      () => {
        last = g.step();
      },
      warmup,
      steps,
    );
    if (!Number.isFinite(last.lossD) || !Number.isFinite(last.lossG))
      throw new Error(`bench-gan losses are not finite (${JSON.stringify(last)})`);
    return { median: t.median, min: t.min, params: g.g.count() + g.d.count(), ...last };
  } finally {
    g.dispose();
  }
}

/** The demo GAN config recommended for `npm start` on 2 CPU cores (PGAN, 32x32, 5 channels). */
export const DEMO_GAN = { family: "pgan", resolution: 32, latentSize: 64, fmapBase: 512, fmapMax: 32 } as const;

/**
 * `--only gan-demo`: images/s of one PGAN train step (D step with gradient penalty + G step) of the demo config at
 * its final 32x32 level mid fade-in, batch 8, on the resolved backend. Product only (no peer figure): it sizes
 * the demo, it is not a comparison. Also reports process CPU ms per step, the fair figure on a loaded machine.
 */
export function benchGanDemo(opts: { log: (l: string) => void; steps?: number }): BenchResult[] {
  const steps = opts.steps ?? 5;
  const batch = 8;
  const config = defaultGanConfig({ ...DEMO_GAN });
  const model = createGan(config, 1);
  const real = tf.tidy(() => tf.randomUniform([batch, 32, 32, 5], -1, 1) as tf.Tensor4D);
  try {
    model.setGrowth({ level: 3, alpha: 0.5 });
    model.trainStep(real); // warm-up: kernel set-up and first allocations
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) model.trainStep(real);
    const ms = (performance.now() - t0) / steps;
    const cu = process.cpuUsage(c0);
    const cpuMs = (cu.user + cu.system) / 1000 / steps;
    const imagesPerSecond = (batch * 1000) / ms;
    opts.log(
      `gan-demo: ${ms.toFixed(0)} ms/step wall, ${cpuMs.toFixed(0)} ms/step CPU, ${imagesPerSecond.toFixed(2)} img/s`,
    );
    return [
      {
        bench: "gan-demo",
        product_ms: Math.round(ms),
        note: `${imagesPerSecond.toFixed(2)} img/s at 32x32 batch ${batch}; ${Math.round(cpuMs)} ms CPU/step; ${model.paramCount} params`,
      },
    ];
  } finally {
    real.dispose();
    model.dispose();
  }
}
