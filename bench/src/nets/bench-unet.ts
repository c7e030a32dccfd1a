// bench-unet from shared/peers/SPEC.md: 2-D nnU-Net-style U-Net, 1,945,152 parameters, NHWC.
// Stride-2 convs use TF 'same' padding (0 before, 1 after), which the spec allows: the wasm conv is
// several times faster with it than with explicit symmetric padding.
import {
  ceDiceLoss,
  ceDiceLossWebGpuActive,
  conv2d,
  conv2dFirstOrder,
  convTranspose2x2,
  instanceNormLeakyReluFast,
  nativeCeDiceLossAvailable,
  type Optimizer,
  ParamStore,
  Rng,
  sgdNesterov,
  tf,
} from "@synthmri/ml";

const ENC = [
  [4, 16, 1],
  [16, 32, 2],
  [32, 64, 2],
  [64, 128, 2],
  [128, 256, 2],
] as const;
const DEC = [
  [256, 128],
  [128, 64],
  [64, 32],
  [32, 16],
] as const; // dec3..dec0: [cin of up, cout]
export const BENCH_UNET_PARAMS = 1_945_152;
const DS_WEIGHTS = [8, 4, 2, 1].map((w) => w / 15);

function addBlock(s: ParamStore, name: string, cin: number, cout: number, k = 3): void {
  s.add(`${name}.w`, [k, k, cin, cout], { kind: "torchDefault" });
  s.add(`${name}.b`, [cout], { kind: "torchDefault", fanIn: k * k * cin });
  if (k === 3) {
    s.add(`${name}.gamma`, [cout], { kind: "ones" });
    s.add(`${name}.beta`, [cout], { kind: "zeros" });
  }
}

export function buildBenchUnet(seed = 0): ParamStore {
  const s = new ParamStore(seed);
  ENC.forEach(([cin, cout], i) => {
    addBlock(s, `enc${i}.a`, cin, cout);
    addBlock(s, `enc${i}.b`, cout, cout);
  });
  DEC.forEach(([cin, cout], j) => {
    const d = 3 - j;
    s.add(`dec${d}.up.w`, [2, 2, cout, cin], { kind: "torchDefault", fanIn: 4 * cout });
    s.add(`dec${d}.up.b`, [cout], { kind: "torchDefault", fanIn: 4 * cout });
    addBlock(s, `dec${d}.a`, 2 * cout, cout);
    addBlock(s, `dec${d}.b`, cout, cout);
    addBlock(s, `dec${d}.head`, cout, 4, 1);
  });
  return s;
}

/** dataInput: x is the net's input, for which training needs no gradient (see conv2dFirstOrder). */
function block(s: ParamStore, name: string, x: tf.Tensor4D, stride: number, dataInput = false): tf.Tensor4D {
  const conv = dataInput ? conv2d : conv2dFirstOrder;
  const y = conv(x, s.get(`${name}.w`) as tf.Tensor4D, s.get(`${name}.b`) as tf.Tensor1D, stride, "same");
  // Same maths as layers' instanceNorm + leakyRelu; the product U-Net's fused native kernel when it is active.
  return instanceNormLeakyReluFast(
    y,
    s.get(`${name}.gamma`) as tf.Tensor1D,
    s.get(`${name}.beta`) as tf.Tensor1D,
    0.01,
  );
}

/** Forward pass; returns [out_0..out_3] in training mode, [out_0] otherwise. Call inside tf.tidy. */
export function benchUnetForward(s: ParamStore, x: tf.Tensor4D, training: boolean): tf.Tensor4D[] {
  const skips: tf.Tensor4D[] = [];
  let h = x;
  ENC.forEach(([, , stride], i) => {
    h = block(s, `enc${i}.b`, block(s, `enc${i}.a`, h, stride, training && i === 0), 1);
    skips.push(h);
  });
  const outs: tf.Tensor4D[] = [];
  for (let d = 3; d >= 0; d--) {
    const up = convTranspose2x2(h, s.get(`dec${d}.up.w`) as tf.Tensor4D, s.get(`dec${d}.up.b`) as tf.Tensor1D);
    h = block(s, `dec${d}.b`, block(s, `dec${d}.a`, tf.concat([up, skips[d]], 3), 1), 1);
    if (training || d === 0) {
      outs[d] = conv2dFirstOrder(
        h,
        s.get(`dec${d}.head.w`) as tf.Tensor4D,
        s.get(`dec${d}.head.b`) as tf.Tensor1D,
        1,
        "valid",
      );
    }
  }
  return training ? outs : [outs[0]];
}

/** One-hot targets per deep-supervision level, built once outside the timed region. */
export function benchUnetTargets(labels: Int32Array, B: number, H: number, W: number): tf.Tensor4D[] {
  const out: tf.Tensor4D[] = [];
  for (let d = 0; d < 4; d++) {
    const f = 2 ** d;
    const h = H / f;
    const w = W / f;
    const oh = new Float32Array(B * h * w * 4);
    for (let b = 0; b < B; b++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++) oh[((b * h + i) * w + j) * 4 + labels[(b * H + i * f) * W + j * f]] = 1;
    out.push(tf.tensor4d(oh, [B, h, w, 4]));
  }
  return out;
}

/** CE + (1 - batch soft Dice over classes 1..3), weighted over the 4 outputs as in the spec. */
export function benchUnetLoss(outs: tf.Tensor4D[], targets: tf.Tensor4D[]): tf.Scalar {
  return tf.tidy(() => {
    let total: tf.Tensor = tf.scalar(0);
    const fused = nativeCeDiceLossAvailable() || ceDiceLossWebGpuActive();
    outs.forEach((logits, d) => {
      const g = targets[d];
      if (fused) {
        // Same maths as below in one native kernel or fused webgpu kernels (unet/loss.ts), loss and gradient.
        total = tf.add(total, tf.mul(ceDiceLoss(logits, g), DS_WEIGHTS[d]));
        return;
      }
      const logp = tf.logSoftmax(logits, -1);
      const ce = tf.neg(tf.mean(tf.sum(tf.mul(g, logp), -1)));
      const p = tf.exp(logp);
      const inter = tf.sum(tf.mul(p, g), [0, 1, 2]);
      const dice = tf.div(
        tf.add(tf.mul(inter, 2), 1e-5),
        tf.add(tf.add(tf.sum(p, [0, 1, 2]), tf.sum(g, [0, 1, 2])), 1e-5),
      );
      const diceFg = tf.mean(tf.slice(dice, [1], [3]));
      total = tf.add(total, tf.mul(tf.add(ce, tf.sub(1, diceFg)), DS_WEIGHTS[d]));
    });
    return total as tf.Scalar;
  });
}

export interface BenchUnet {
  store: ParamStore;
  /** One unet-train step; returns the loss read back to the host. */
  trainStep(): number;
  /** One unet-infer step (out_0 only, one element read back). */
  inferStep(): void;
  /** `trainStep` with an awaited read (every backend, webgpu included); the wait covers the device's work. */
  trainStepAsync(): Promise<number>;
  /** `inferStep` with an awaited read; returns the element read back. */
  inferStepAsync(): Promise<number>;
  dispose(): void;
}

/** The spec's bench setup: batch 4 x 128 x 128 x 4, N(0,1) input, labels uniform in 0..3, seeded. */
export function createBenchUnet(seed = 0, batch = 4, size = 128): BenchUnet {
  const store = buildBenchUnet(seed);
  const rng = new Rng(seed + 1);
  const x = tf.tensor4d(rng.fillNormal(new Float32Array(batch * size * size * 4)), [batch, size, size, 4]);
  const labels = new Int32Array(batch * size * size).map(() => rng.int(4));
  const targets = benchUnetTargets(labels, batch, size, size);
  const opt: Optimizer = sgdNesterov({ lr: 0.05, momentum: 0.99, weightDecay: 3e-5 });
  // The step without its read, so the sync and async steps share it: the loss, still on the device.
  const train = (): tf.Scalar => {
    const { value, grads } = store.valueAndGrads(() => benchUnetLoss(benchUnetForward(store, x, true), targets));
    opt.apply(store, grads);
    return value;
  };
  const infer = () => tf.tidy(() => tf.slice(benchUnetForward(store, x, false)[0], [0, 0, 0, 0], [1, 1, 1, 1]));
  return {
    store,
    trainStep() {
      const value = train();
      const v = value.dataSync()[0];
      value.dispose();
      return v;
    },
    inferStep() {
      const one = infer();
      one.dataSync();
      one.dispose();
    },
    async trainStepAsync() {
      const value = train();
      const v = (await value.data())[0];
      value.dispose();
      return v;
    },
    async inferStepAsync() {
      const one = infer();
      const v = (await one.data())[0];
      one.dispose();
      return v;
    },
    dispose() {
      opt.dispose();
      store.dispose();
      tf.dispose([x, ...targets]);
    },
  };
}
