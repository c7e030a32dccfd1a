// bench-gan train step (shared/peers/SPEC.md) on the resolved backend.
import { createBenchGan, timeSteps } from "@synthmri/ml";

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
