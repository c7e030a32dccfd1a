// Training-step probes (issue 15): one real training step of a U-Net or a GAN at a given size on the current backend,
// with synthetic data, for step-time measurements: the GPU bench's real-size rows (bench/src/gpu/steps.ts) and the
// experiment cost estimate (`synthmri experiment run --estimate`). Each step ends with an awaited loss read, so it
// also waits for an asynchronous device.
import { tf } from "../backend/tf.js";
import { createGan } from "../gan/create.js";
import { defaultGanConfig, type GanConfig } from "../gan/config.js";
import { sgdNesterov } from "../layers/optimizers.js";
import { Rng } from "../random/index.js";
import type { UNetConfig } from "../unet/config.js";
import { deepSupervisionLoss, deepSupervisionTargets } from "../unet/loss.js";
import { UNet } from "../unet/model.js";

export interface StepProbe {
  /** One training step; resolves to the loss read back. */
  step(): Promise<number>;
  dispose(): void;
}

/**
 * trainSegmenter's step (deep-supervision CE + Dice, SGD Nesterov 0.05 / 0.99 / 3e-5) on N(0,1) images and uniform
 * labels, without gradient clipping (its norm read would add a host round trip that PyTorch peers do not have).
 */
export function unetStepProbe(config: Partial<UNetConfig>, batch: number, size: number, seed = 0): StepProbe {
  const model = new UNet({ ...config, inputSize: [size, size] }, seed);
  const rng = new Rng(seed + 1);
  const { inChannels, numClasses, deepSupervisionHeads } = model.config;
  const x = tf.tensor4d(rng.fillNormal(new Float32Array(batch * size * size * inChannels)), [
    batch,
    size,
    size,
    inChannels,
  ]);
  const labels = new Uint8Array(batch * size * size).map(() => rng.int(numClasses));
  const targets = deepSupervisionTargets(labels, batch, size, size, deepSupervisionHeads, numClasses);
  const opt = sgdNesterov({ lr: 0.05, momentum: 0.99, weightDecay: 3e-5 });
  return {
    async step() {
      const { value, grads } = model.params.valueAndGrads(() =>
        deepSupervisionLoss(model.forward(x, { training: true }), targets),
      );
      opt.apply(model.params, grads);
      const v = (await value.data())[0];
      value.dispose();
      return v;
    },
    dispose() {
      opt.dispose();
      model.dispose();
      tf.dispose([x, ...targets]);
    },
  };
}

/** One GAN train step (for pgan: WGAN-GP D step with the penalty, then G) fully grown to config.resolution. */
export function ganStepProbe(config: Partial<GanConfig>, batch: number, seed = 0): StepProbe {
  const c = defaultGanConfig(config);
  const model = createGan(c, seed);
  if (c.family === "pgan") model.setGrowth({ level: Math.log2(c.resolution) - 2, alpha: 1 });
  const rng = new Rng(seed + 2);
  const n = batch * c.resolution * c.resolution * c.channels;
  const real = tf.tensor4d(rng.fillNormal(new Float32Array(n)).map(Math.tanh), [
    batch,
    c.resolution,
    c.resolution,
    c.channels,
  ]);
  return {
    async step() {
      const l = await model.trainStepAsync(real);
      if (!Number.isFinite(l.d) || !Number.isFinite(l.g)) throw new Error("GAN probe losses are not finite");
      return l.d;
    },
    dispose() {
      real.dispose();
      model.dispose();
    },
  };
}

/** Median ms of `steps` probe steps after `warmup` untimed ones (pipelines compile, pools fill there). */
export async function timeProbe(probe: StepProbe, warmup: number, steps: number): Promise<number> {
  for (let i = 0; i < warmup; i++) await probe.step();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await probe.step();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const m = times.length;
  return m % 2 ? times[(m - 1) / 2] : (times[m / 2 - 1] + times[m / 2]) / 2;
}
