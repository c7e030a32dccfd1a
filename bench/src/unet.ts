// bench-unet train and infer steps (shared/peers/SPEC.md) on the resolved backend.
import { createBenchUnet, timeSteps } from "./nets/index.js";

export function benchUnetTrain(
  steps: number,
  warmup: number,
): { median: number; min: number; params: number; loss: number } {
  const u = createBenchUnet(0);
  try {
    let loss = Number.NaN;
    const t = timeSteps(
      () => {
        loss = u.trainStep();
      },
      warmup,
      steps,
    );
    if (!Number.isFinite(loss)) throw new Error(`bench-unet loss is not finite (${loss})`);
    return { median: t.median, min: t.min, params: u.store.count(), loss };
  } finally {
    u.dispose();
  }
}

export function benchUnetInfer(steps: number, warmup: number): { median: number; min: number; params: number } {
  const u = createBenchUnet(0);
  try {
    const t = timeSteps(() => u.inferStep(), warmup, steps);
    return { median: t.median, min: t.min, params: u.store.count() };
  } finally {
    u.dispose();
  }
}
