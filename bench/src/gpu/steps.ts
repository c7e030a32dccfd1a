// Async bench steps (bench-unet train/infer, bench-gan train: shared/peers/SPEC.md; the volume inference of
// bench/src/volume-infer.ts) for GPU backends. The nets' sync steps end with dataSync(), which the webgpu backend
// cannot do in Node; these use their async steps, which end with `await data()` and so also wait for the GPU to
// finish the step: the wall time of a step is its GPU time plus the host's dispatch overhead.
import {
  countDispatchKinds,
  diffGpuCounts,
  dispatchKinds,
  ganStepProbe,
  gpuCounts,
  Rng,
  setWebGpuFusion,
  SEED000_UNET,
  tf,
  unetStepProbe,
} from "@synthmri/ml";
import { createBenchGan, createBenchUnet } from "../nets/index.js";
import { buildNet, forward, type Net } from "../volume-infer.js";

export interface AsyncTiming {
  median: number;
  min: number;
  times: number[];
}

/** SPEC protocol with an async step: untimed warm-ups (pipeline compiles happen there), then each step timed alone. */
export async function timeStepsAsync(
  step: () => Promise<unknown>,
  warmup: number,
  steps: number,
): Promise<AsyncTiming> {
  for (let i = 0; i < warmup; i++) await step();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await step();
    times.push(performance.now() - t0);
  }
  const s = [...times].sort((a, b) => a - b);
  const n = s.length;
  const median = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  const r = (v: number) => Math.round(v * 100) / 100;
  return { median: r(median), min: r(s[0]), times };
}

export interface AsyncBench {
  step(): Promise<number>;
  dispose(): void;
}

/** bench-unet (batch 4 x 128 x 128 x 4 by the spec), SGD Nesterov; step() returns the loss. */
export function unetTrain(batch = 4, size = 128, seed = 0): AsyncBench {
  const u = createBenchUnet(seed, batch, size);
  return { step: () => u.trainStepAsync(), dispose: () => u.dispose() };
}

/** bench-unet inference (out_0 only), one element read back as the spec says. */
export function unetInfer(batch = 4, size = 128, seed = 0): AsyncBench {
  const u = createBenchUnet(seed, batch, size);
  return { step: () => u.inferStepAsync(), dispose: () => u.dispose() };
}

/** bench-gan: one D update and one G update (batch 16 by the spec), Adam(2e-4, 0, 0.99); step() returns lossD. */
export function ganTrain(batch = 16, seed = 0): AsyncBench {
  const gan = createBenchGan(seed, batch);
  return {
    async step() {
      const { lossD, lossG } = await gan.stepAsync();
      if (!Number.isFinite(lossD) || !Number.isFinite(lossG)) throw new Error("bench-gan losses are not finite");
      return lossD;
    },
    dispose: () => gan.dispose(),
  };
}

/**
 * The volume inference: volume-infer.ts' net over `slices` axial slices of size x size x 4 in chunks, one element
 * read back per chunk (as the PyTorch peer does). The volume is made GPU-resident before timing, as torch_gpu.py does.
 */
export async function volumeInfer(
  slices: number,
  size: number,
  chunk: number,
  repeats: number,
): Promise<{ median: number; min: number }> {
  if (size % 16 !== 0) throw new RangeError(`volume size ${size} must be a multiple of 16 (4 stride-2 levels)`);
  const net: Net = buildNet();
  const rng = new Rng(99);
  const volume = tf.tensor4d(rng.fillNormal(new Float32Array(slices * size * size * 4)), [slices, size, size, 4]);
  const pass = async (n: number) => {
    for (let s = 0; s < n; s += chunk) {
      const out = tf.tidy(() => {
        const y = forward(net, tf.slice(volume, [s, 0, 0, 0], [Math.min(chunk, n - s), -1, -1, -1]));
        return tf.slice(y, [0, 0, 0, 0], [1, 1, 1, 1]);
      });
      await out.data();
      out.dispose();
    }
  };
  try {
    await pass(Math.min(chunk, slices)); // warm-up: pipelines for the full chunk shape; uploads the volume
    if (slices % chunk !== 0) {
      // and for the last, shorter chunk
      const tail = tf.tidy(() =>
        tf.slice(
          forward(net, tf.slice(volume, [0, 0, 0, 0], [slices % chunk, -1, -1, -1])),
          [0, 0, 0, 0],
          [1, 1, 1, 1],
        ),
      );
      await tail.data();
      tail.dispose();
    }
    const times: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      await pass(slices);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const round = (v: number) => Math.round(v * 100) / 100;
    return { median: round(times[Math.floor(times.length / 2)]), min: round(times[0]) };
  } finally {
    volume.dispose();
    tf.dispose(
      [...net.enc.flat(), ...net.up, ...net.dec.flat(), net.head].flatMap((p) => Object.values(p) as tf.Tensor[]),
    );
  }
}

/** What the device was asked to do per step, after warm-up (bench rows: dispatches, buffers_created, readback_bytes). */
export interface StepCounts {
  dispatches: number;
  buffers_created: number;
  readback_bytes: number;
  submits: number;
  upload_bytes: number;
  /** Dispatches per step by "<kernel> <program>" (only with SYNTHMRI_GPU_KINDS=1: issue 15's breakdown). */
  kinds?: Record<string, number>;
}

/**
 * Device counts per step (packages/ml gpu-counters: deterministic, so they measure a GPU path on lavapipe too):
 * `warmup` uncounted steps (pipelines compile, pools fill), then the mean over `steps` counted steps.
 */
export async function countStepsAsync(
  step: () => Promise<unknown>,
  warmup: number,
  steps: number,
): Promise<StepCounts> {
  for (let i = 0; i < warmup; i++) await step();
  const byKind = process.env.SYNTHMRI_GPU_KINDS === "1";
  if (byKind) {
    dispatchKinds(true);
    countDispatchKinds(true);
  }
  const a = gpuCounts();
  for (let i = 0; i < steps; i++) await step();
  const d = diffGpuCounts(a, gpuCounts());
  countDispatchKinds(false);
  const per = (v: number) => Math.round((v / steps) * 100) / 100;
  const kinds = byKind
    ? Object.fromEntries(Object.entries(dispatchKinds(true)).map(([k, v]) => [k, per(v)]))
    : undefined;
  return {
    ...(kinds ? { kinds } : {}),
    dispatches: per(d.dispatches),
    buffers_created: per(d.buffersCreated),
    readback_bytes: per(d.readbackBytes),
    submits: per(d.submits),
    upload_bytes: per(d.uploadBytes),
  };
}

/** The seed-000 U-Net at the paper's size (SEED000_UNET: 256x256, batch 8), packages/ml's probe; step() returns the loss. */
export function seed000UnetTrain(batch = 8, size = 256, seed = 0): AsyncBench {
  return unetStepProbe(SEED000_UNET, batch, size, seed);
}

/** The 5-channel PGAN of the paper preset fully grown to `size` (256), one WGAN-GP step (D with GP, then G), batch 16. */
export function pgan256Train(batch = 16, size = 256, seed = 0): AsyncBench {
  return ganStepProbe({ family: "pgan", resolution: size, channels: 5 }, batch, seed);
}

/**
 * Dispatches per step of the same net on stock tfjs-backend-webgpu (the project's fused kernels off), in the same run
 * as the fused counts: `warmup` steps (the stock pipelines compile), then the mean over `steps`. Restores fusion.
 */
export async function countStockDispatchesAsync(
  step: () => Promise<unknown>,
  warmup: number,
  steps: number,
): Promise<number> {
  const was = setWebGpuFusion(false);
  const kinds = process.env.SYNTHMRI_GPU_KINDS;
  try {
    delete process.env.SYNTHMRI_GPU_KINDS;
    return (await countStepsAsync(step, warmup, steps)).dispatches;
  } finally {
    setWebGpuFusion(was);
    if (kinds !== undefined) process.env.SYNTHMRI_GPU_KINDS = kinds;
  }
}
