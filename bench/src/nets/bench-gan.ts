// bench-gan from shared/peers/SPEC.md: DCGAN-style G (1,505,925) and D (401,057), 5 x 64 x 64, NHWC.
import {
  adam,
  biasLeakyRelu,
  biasLeakyReluAvgPool2x2,
  biasTanh,
  conv2d,
  dense,
  meanSoftplus,
  type Optimizer,
  ParamStore,
  Rng,
  tf,
  upsampleNearest2x,
} from "@synthmri/ml";

export const BENCH_GAN_PARAMS = { g: 1_505_925, d: 401_057 };
const LATENT = 128;
const G_CONVS = [
  [256, 256],
  [256, 128],
  [128, 64],
  [64, 32],
] as const;
const D_CONVS = [
  [32, 32],
  [32, 64],
  [64, 128],
  [128, 256],
] as const;

function addConv(s: ParamStore, name: string, k: number, cin: number, cout: number): void {
  s.add(`${name}.w`, [k, k, cin, cout], { kind: "torchDefault" });
  s.add(`${name}.b`, [cout], { kind: "torchDefault", fanIn: k * k * cin });
}

export function buildBenchGenerator(seed = 0): ParamStore {
  const s = new ParamStore(seed);
  s.add("fc.w", [LATENT, 4096], { kind: "torchDefault" });
  s.add("fc.b", [4096], { kind: "torchDefault", fanIn: LATENT });
  G_CONVS.forEach(([cin, cout], i) => {
    addConv(s, `up${i}`, 3, cin, cout);
  });
  addConv(s, "out", 1, 32, 5);
  return s;
}

export function buildBenchDiscriminator(seed = 1): ParamStore {
  const s = new ParamStore(seed);
  addConv(s, "in", 1, 5, 32);
  D_CONVS.forEach(([cin, cout], i) => {
    addConv(s, `down${i}`, 3, cin, cout);
  });
  s.add("fc.w", [4096, 1], { kind: "torchDefault" });
  s.add("fc.b", [1], { kind: "torchDefault", fanIn: 4096 });
  return s;
}

const w4 = (s: ParamStore, n: string) => s.get(`${n}.w`) as tf.Tensor4D;
const b1 = (s: ParamStore, n: string) => s.get(`${n}.b`) as tf.Tensor1D;

export function benchGenerator(s: ParamStore, z: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const B = z.shape[0];
    // No gradient penalty here (first-order only): bias + LeakyReLU run as one fused kernel where available.
    const fc = biasLeakyRelu(tf.matMul(z, s.get("fc.w") as tf.Tensor2D), b1(s, "fc"), 0.2);
    let h = tf.reshape(fc, [B, 4, 4, 256]) as tf.Tensor4D;
    G_CONVS.forEach((_, i) => {
      h = biasLeakyRelu(conv2d(upsampleNearest2x(h), w4(s, `up${i}`), null, 1, "same"), b1(s, `up${i}`), 0.2);
    });
    return biasTanh(conv2d(h, w4(s, "out"), null, 1, "valid"), b1(s, "out"));
  });
}

export function benchDiscriminator(s: ParamStore, x: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => {
    let h = biasLeakyRelu(conv2d(x, w4(s, "in"), null, 1, "valid"), b1(s, "in"), 0.2);
    D_CONVS.forEach((_, i) => {
      h = biasLeakyReluAvgPool2x2(conv2d(h, w4(s, `down${i}`), null, 1, "same"), b1(s, `down${i}`), 0.2);
    });
    return dense(tf.reshape(h, [x.shape[0], 4096]) as tf.Tensor2D, s.get("fc.w") as tf.Tensor2D, b1(s, "fc"));
  });
}

export interface BenchGan {
  g: ParamStore;
  d: ParamStore;
  /** One gan-train step (one D update, one G update); returns both losses read back to the host. */
  step(): { lossD: number; lossG: number };
  /** `step` with awaited reads (every backend, webgpu included); the wait covers the device's work. */
  stepAsync(): Promise<{ lossD: number; lossG: number }>;
  dispose(): void;
}

/** The spec's setup: batch 16, fixed real batch uniform in [-1, 1], Adam(2e-4, 0, 0.99, 1e-8) for each net. */
export function createBenchGan(seed = 0, batch = 16): BenchGan {
  const g = buildBenchGenerator(seed);
  const d = buildBenchDiscriminator(seed + 1);
  const rng = new Rng(seed + 2);
  const real = tf.tensor4d(rng.fillUniform(new Float32Array(batch * 64 * 64 * 5), -1, 1), [batch, 64, 64, 5]);
  const optG: Optimizer = adam({ lr: 2e-4, beta1: 0, beta2: 0.99, eps: 1e-8 });
  const optD: Optimizer = adam({ lr: 2e-4, beta1: 0, beta2: 0.99, eps: 1e-8 });
  const sampleZ = () => tf.tensor2d(rng.fillNormal(new Float32Array(batch * LATENT)), [batch, LATENT]);
  // One D update then one G update, without the reads, so the sync and async steps share it.
  const updates = (): [tf.Scalar, tf.Scalar] => {
    const z1 = sampleZ();
    const fake = benchGenerator(g, z1); // no tape active here: no gradient tracking
    // D's loss on real and on fake samples, differentiated apart: the optimizer sums the two gradients of each
    // parameter inside its update kernel on webgpu, where one tape would add them with an Add per parameter.
    const dReal = d.valueAndGrads(() => tf.tidy(() => meanSoftplus(benchDiscriminator(d, real), -1)));
    const dFake = d.valueAndGrads(() => tf.tidy(() => meanSoftplus(benchDiscriminator(d, fake), 1)));
    optD.apply(d, dReal.grads, dFake.grads);
    const lossD = tf.add(dReal.value, dFake.value) as tf.Scalar;
    tf.dispose([z1, fake, dReal.value, dFake.value]);
    const z2 = sampleZ();
    // Only G's variables are listed: D's weight gradients are neither computed nor applied.
    const gStep = g.valueAndGrads(() => tf.tidy(() => meanSoftplus(benchDiscriminator(d, benchGenerator(g, z2)), -1)));
    optG.apply(g, gStep.grads);
    z2.dispose();
    return [lossD, gStep.value];
  };
  return {
    g,
    d,
    step() {
      const losses = updates();
      const lossD = losses[0].dataSync()[0];
      const lossG = losses[1].dataSync()[0];
      tf.dispose(losses);
      return { lossD, lossG };
    },
    async stepAsync() {
      const losses = updates();
      try {
        const [lossD, lossG] = await Promise.all(losses.map((l) => l.data()));
        return { lossD: lossD[0], lossG: lossG[0] };
      } finally {
        tf.dispose(losses);
      }
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
