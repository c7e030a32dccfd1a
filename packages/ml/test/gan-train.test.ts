// Training loop: learning on toy 5-channel slices, exact resume from a checkpoint, prompt cancellation, no leaks.
import { Cancelled } from "@synthmri/core";
import { beforeAll, describe, expect, it } from "vitest";
import type { CheckpointStore } from "../src/gan/checkpoint.js";
import { defaultGanConfig } from "../src/gan/config.js";
import { createGan } from "../src/gan/create.js";
import type { GanModel } from "../src/gan/model.js";
import { type TrainProgress, prepareReals, trainGan } from "../src/gan/train.js";
import { tf } from "../src/gan/tf.js";
import { registerNativeKernels } from "../src/native/index.js";
import { Rng } from "../src/random/index.js";
import { blobSlices, pixelSwd } from "./gan-fixtures.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
  // the training tests run on the native cpu kernels when the addon is built (10x faster; stock kernels otherwise).
  registerNativeKernels();
});

function memoryStore(): CheckpointStore & { saves: number; last?: Uint8Array } {
  const s = {
    saves: 0,
    last: undefined as Uint8Array | undefined,
    save(b: Uint8Array) {
      s.saves++;
      s.last = b.slice();
    },
    load() {
      return s.last;
    },
  };
  return s;
}

function weights(m: GanModel): Float32Array[] {
  const st = m.state();
  return [...st.generator, ...st.discriminator].map((a) => a.data);
}

/** Pixel SWD between n generated images and n real ones at the model's current growth point. */
function distance(model: GanModel, data: Float32Array, size: number, n: number): number {
  const cfg = model.config;
  const g = model.growth();
  const real = prepareReals(data.subarray(0, n * size * size * 5), n, cfg, g.level, g.alpha);
  const z = tf.tensor2d(new Rng(99).fillNormal(new Float32Array(n * cfg.latentSize)), [n, cfg.latentSize]);
  const fake = tf.tidy(() => model.generate(z).clipByValue(-1, 1) as tf.Tensor4D);
  const d = pixelSwd(fake, real);
  tf.dispose([real, z, fake]);
  return d;
}

describe("trainGan", () => {
  it("a small PGAN on 32x32 five-channel slices lowers the distance to the real slices", async () => {
    const { data, source } = blobSlices(64, 32);
    // Learning rate 1e-2 (PGAN: 1e-3) so that a few dozen steps move the equalized-LR weights visibly.
    const config = defaultGanConfig({
      family: "pgan",
      resolution: 32,
      latentSize: 16,
      fmapBase: 32,
      fmapMax: 16,
      adam: { learningRate: 0.01, beta1: 0, beta2: 0.99, epsilon: 1e-8 },
    });
    // 4x4 for 256 images, then 8x8 fades in over 32 and stabilises for 32: 320 images, 40 steps.
    const schedule = { stabiliseImages: 256, fadeImages: 32, totalImages: 320, batchSizes: [8] };
    const before = tf.memory().numTensors;
    const reports: TrainProgress[] = [];
    const { model, kimg } = await trainGan({
      config,
      data: source,
      seed: 5,
      schedule,
      checkpointEveryKimg: 1,
      onProgress: (p) => reports.push(p),
    });
    expect(kimg).toBeCloseTo(0.32, 6);
    const last = reports[reports.length - 1];
    expect(last.resolution).toBe(8);
    expect(last.phase).toBe("stabilise");
    expect(reports.some((r) => r.phase === "fade-in" && r.alpha > 0 && r.alpha < 1)).toBe(true);
    expect(last.imagesPerSecond).toBeGreaterThan(0);
    expect(
      Number.isFinite(last.losses.d) && Number.isFinite(last.losses.g) && Number.isFinite(last.losses.gp ?? Number.NaN),
    ).toBe(true);
    // Initial value: the untrained model (same seed) at the same growth point.
    const untrained = createGan(config, 5);
    untrained.setGrowth(model.growth());
    const d0 = distance(untrained, data, 32, 32);
    const d1 = distance(model, data, 32, 32);
    console.log(
      `pixel SWD at 8x8: untrained ${d0.toFixed(4)} -> trained ${d1.toFixed(4)}; ${last.imagesPerSecond.toFixed(1)} img/s`,
    );
    // Deterministic on cpu: measured 0.827 -> 0.681; 10 % is well clear of noise yet fails if nothing is learnt.
    expect(d1).toBeLessThan(d0 * 0.9);
    untrained.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("a run resumed from its last checkpoint reaches bit-identical weights", async () => {
    const { source } = blobSlices(16, 8, 2);
    const config = defaultGanConfig({ family: "pgan", resolution: 8, latentSize: 8, fmapBase: 16, fmapMax: 8 });
    const schedule = { stabiliseImages: 16, fadeImages: 16, totalImages: 56, batchSizes: [4] };
    const common = { config, data: source, seed: 11, schedule, checkpointEveryKimg: 0.008 };

    const whole = await trainGan({ ...common, checkpoint: memoryStore() });

    // Interrupted run: stop right after the checkpoint at 24 images (mid fade-in), as a kill would.
    const store = memoryStore();
    const ac = new AbortController();
    await expect(
      trainGan({
        ...common,
        checkpoint: store,
        signal: ac.signal,
        onProgress: (p) => {
          if (p.checkpointKimg !== undefined && p.images >= 24) ac.abort();
        },
      }),
    ).rejects.toBeInstanceOf(Cancelled);
    const resumed = await trainGan({ ...common, checkpoint: store });
    expect(resumed.resumedFromKimg).toBeCloseTo(0.024, 9);
    expect(resumed.images).toBe(whole.images);

    const a = weights(whole.model);
    const b = weights(resumed.model);
    expect(a.length).toBe(b.length);
    for (let i = 0; i < a.length; i++) expect(Buffer.from(b[i].buffer).equals(Buffer.from(a[i].buffer))).toBe(true);
    // And not trivially: training moved the weights away from the untrained ones.
    const fresh = createGan(config, 11);
    expect(Buffer.from(weights(fresh)[0].buffer).equals(Buffer.from(a[0].buffer))).toBe(false);
    fresh.dispose();
    whole.model.dispose();
    resumed.model.dispose();
  });

  it("refuses a checkpoint from another seed", async () => {
    const { source } = blobSlices(8, 8, 3);
    const config = defaultGanConfig({ family: "pgan", resolution: 8, latentSize: 8, fmapBase: 16, fmapMax: 8 });
    const schedule = { stabiliseImages: 4, fadeImages: 4, totalImages: 4, batchSizes: [4] };
    const store = memoryStore();
    (
      await trainGan({ config, data: source, seed: 1, schedule, checkpointEveryKimg: 1, checkpoint: store })
    ).model.dispose();
    await expect(
      trainGan({ config, data: source, seed: 2, schedule, checkpointEveryKimg: 1, checkpoint: store }),
    ).rejects.toThrow(/another seed/);
  });

  it("cancels promptly between steps and frees its tensors", async () => {
    const { source } = blobSlices(8, 8, 4);
    const config = defaultGanConfig({ family: "pgan", resolution: 8, latentSize: 8, fmapBase: 16, fmapMax: 8 });
    const before = tf.memory().numTensors;
    const ac = new AbortController();
    let steps = 0;
    const run = trainGan({
      config,
      data: source,
      seed: 3,
      schedule: { stabiliseImages: 1000, fadeImages: 1000, totalImages: 100_000, batchSizes: [4] },
      checkpointEveryKimg: 100,
      signal: ac.signal,
      onProgress: () => {
        steps++;
        // Abort from outside the loop, as a CancelJob RPC would.
        if (steps === 2) setImmediate(() => ac.abort());
      },
    });
    await expect(run).rejects.toBeInstanceOf(Cancelled);
    expect(steps).toBeLessThanOrEqual(3);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("rejects data that does not match the config", async () => {
    const { source } = blobSlices(4, 8, 4);
    const config = defaultGanConfig({ family: "pgan", resolution: 16, latentSize: 8, fmapBase: 16, fmapMax: 8 });
    await expect(
      trainGan({
        config,
        data: source,
        seed: 1,
        schedule: { stabiliseImages: 4, fadeImages: 4, totalImages: 4, batchSizes: [4] },
        checkpointEveryKimg: 1,
      }),
    ).rejects.toThrow(/8x8x5.*16x16x5/);
  });
});
