// Async twins of the bench steps (bench-unet train/infer, bench-gan train: shared/peers/SPEC.md; the volume inference
// of bench/src/volume-infer.ts) for GPU backends. The product's own steps (createBenchUnet, createBenchGan) end with
// dataSync(), which the webgpu backend cannot do in Node; these end with `await data()` instead, which also waits for
// the GPU to finish the step, so the wall time of a step is its GPU time plus the host's dispatch overhead.
import {
  adam,
  benchDiscriminator,
  benchGenerator,
  benchUnetForward,
  benchUnetLoss,
  benchUnetTargets,
  buildBenchDiscriminator,
  buildBenchGenerator,
  buildBenchUnet,
  Rng,
  sgdNesterov,
  tf,
} from "@synthmri/ml";
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
  const store = buildBenchUnet(seed);
  const rng = new Rng(seed + 1);
  const x = tf.tensor4d(rng.fillNormal(new Float32Array(batch * size * size * 4)), [batch, size, size, 4]);
  const labels = new Int32Array(batch * size * size).map(() => rng.int(4));
  const targets = benchUnetTargets(labels, batch, size, size);
  const opt = sgdNesterov({ lr: 0.05, momentum: 0.99, weightDecay: 3e-5 });
  return {
    async step() {
      const { value, grads } = store.valueAndGrads(() => benchUnetLoss(benchUnetForward(store, x, true), targets));
      opt.apply(store, grads);
      const v = (await value.data())[0];
      value.dispose();
      return v;
    },
    dispose() {
      opt.dispose();
      store.dispose();
      tf.dispose([x, ...targets]);
    },
  };
}

/** bench-unet inference (out_0 only), one element read back as the spec says. */
export function unetInfer(batch = 4, size = 128, seed = 0): AsyncBench {
  const store = buildBenchUnet(seed);
  const rng = new Rng(seed + 1);
  const x = tf.tensor4d(rng.fillNormal(new Float32Array(batch * size * size * 4)), [batch, size, size, 4]);
  return {
    async step() {
      const one = tf.tidy(() => tf.slice(benchUnetForward(store, x, false)[0], [0, 0, 0, 0], [1, 1, 1, 1]));
      const v = (await one.data())[0];
      one.dispose();
      return v;
    },
    dispose() {
      store.dispose();
      x.dispose();
    },
  };
}

/** bench-gan: one D update and one G update (batch 16 by the spec), Adam(2e-4, 0, 0.99); step() returns lossD. */
export function ganTrain(batch = 16, seed = 0): AsyncBench {
  const g = buildBenchGenerator(seed);
  const d = buildBenchDiscriminator(seed + 1);
  const rng = new Rng(seed + 2);
  const real = tf.tensor4d(rng.fillUniform(new Float32Array(batch * 64 * 64 * 5), -1, 1), [batch, 64, 64, 5]);
  const optG = adam({ lr: 2e-4, beta1: 0, beta2: 0.99, eps: 1e-8 });
  const optD = adam({ lr: 2e-4, beta1: 0, beta2: 0.99, eps: 1e-8 });
  const sampleZ = () => tf.tensor2d(rng.fillNormal(new Float32Array(batch * 128)), [batch, 128]);
  return {
    async step() {
      const z1 = sampleZ();
      const fake = benchGenerator(g, z1);
      const dStep = d.valueAndGrads(() =>
        tf.tidy(
          () =>
            tf.add(
              tf.mean(tf.softplus(tf.neg(benchDiscriminator(d, real)))),
              tf.mean(tf.softplus(benchDiscriminator(d, fake))),
            ) as tf.Scalar,
        ),
      );
      optD.apply(d, dStep.grads);
      tf.dispose([z1, fake]);
      const z2 = sampleZ();
      const gStep = g.valueAndGrads(() =>
        tf.tidy(() => tf.mean(tf.softplus(tf.neg(benchDiscriminator(d, benchGenerator(g, z2))))) as tf.Scalar),
      );
      optG.apply(g, gStep.grads);
      z2.dispose();
      const [lossD, lossG] = await Promise.all([dStep.value.data(), gStep.value.data()]);
      tf.dispose([dStep.value, gStep.value]);
      if (!Number.isFinite(lossD[0]) || !Number.isFinite(lossG[0])) throw new Error("bench-gan losses are not finite");
      return lossD[0];
    },
    dispose() {
      optG.dispose();
      optD.dispose();
      g.dispose();
      d.dispose();
      real.dispose();
    },
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
