// The project's fused webgpu kernels (issue 15: kernels/webgpu/) against the cpu backend's op graphs, with gradients,
// and their dispatch counts. Runs where Dawn finds an adapter (CI: lavapipe, SYNTHMRI_REQUIRE_WEBGPU=1, where a
// missing adapter fails in webgpu.test.ts); elsewhere skipped with the reason printed. Small shapes: lavapipe is slow.
// Tolerances: float32 on both sides, different summation orders (GPU: 64-way tree per workgroup; cpu: serial), so
// relative to the largest magnitude 1e-4 for forward values and 1e-3 for gradients and optimizer trajectories.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWebGpu, type WebGpuStart } from "../src/backend/webgpu.js";
import {
  adam,
  avgPool2x2,
  biasLeakyRelu,
  biasLeakyReluAvgPool2x2,
  biasTanh,
  ceDiceLoss,
  convTranspose2x2,
  ceDiceLossReference,
  diffGpuCounts,
  gpuCounts,
  instanceNorm,
  instanceNormLeakyReluFast,
  leakyRelu,
  meanSoftplus,
  type Optimizer,
  ParamStore,
  sgdNesterov,
  tf,
} from "../src/index.js";
import { setWebGpuFusion, settleKernelCompiles, WebGpuKernelCompileError } from "../src/kernels/webgpu/index.js";
import { rawDispatch, rawWebGpuBackend } from "../src/kernels/webgpu/raw.js";
import { maxRelErr, on, randn } from "./webgpu-fixtures.js";

let start: WebGpuStart = { ok: false, reason: "not tried" };
beforeAll(async () => {
  start = await startWebGpu();
  if (!start.ok) console.log(`webgpu fused kernel tests skipped: ${start.reason}`);
});
afterAll(async () => {
  setWebGpuFusion(true);
  await tf.setBackend("cpu");
});

/** Dispatches recorded while f runs (f awaited: its reads wait for the device). */
async function dispatchesOf(f: () => Promise<unknown>): Promise<number> {
  const a = gpuCounts();
  await f();
  return diffGpuCounts(a, gpuCounts()).dispatches;
}

describe("webgpu fused kernels", () => {
  const normCases: [string, number[], number][] = [
    ["leaky 0.01, H*W < workgroup", [2, 5, 6, 3], 0.01],
    ["leaky 0.2, H*W > workgroup", [1, 12, 11, 4], 0.2],
    ["plain instance norm (slope 1)", [2, 9, 8, 2], 1],
  ];
  for (const [name, shape, slope] of normCases) {
    it(`instance norm + leaky ReLU forward and gradients match cpu: ${name}`, async (ctx) => {
      if (!start.ok) ctx.skip();
      const c = shape[3];
      const xs = randn(
        shape.reduce((a, b) => a * b, 1),
        1,
      );
      const gs = randn(c, 2).map((v) => 1 + 0.3 * v);
      const bs = randn(c, 3).map((v) => 0.2 * v);
      const dys = randn(xs.length, 4);
      const run = (fused: boolean) => () => {
        const x = tf.tensor4d(xs, shape as [number, number, number, number]);
        const gamma = tf.tensor1d(gs);
        const beta = tf.tensor1d(bs);
        const dy = tf.tensor4d(dys, x.shape);
        const f = (xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
          fused
            ? instanceNormLeakyReluFast(xi as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, slope)
            : leakyRelu(instanceNorm(xi as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5), slope);
        const y = f(x, gamma, beta);
        const grads = tf.grads((xi, g, b) => tf.mul(f(xi, g, b), dy).sum() as tf.Scalar)([x, gamma, beta]);
        return [y, ...grads];
      };
      const [want, got] = [await on("cpu", run(false)), await on("webgpu", run(true))];
      expect(maxRelErr(got[0], want[0])).toBeLessThan(1e-4);
      for (let i = 1; i < 4; i++) expect(maxRelErr(got[i], want[i]), `gradient ${i}`).toBeLessThan(1e-3);
    });
  }

  it("instance norm + leaky ReLU: 1 dispatch forward, 2 backward (stock: many more)", async (ctx) => {
    if (!start.ok) ctx.skip();
    await tf.setBackend("webgpu");
    const x = tf.tensor4d(randn(2 * 8 * 8 * 4, 5), [2, 8, 8, 4]);
    const gamma = tf.ones([4]) as tf.Tensor1D;
    const beta = tf.zeros([4]) as tf.Tensor1D;
    const step = async () => {
      const g = tf.grads((xi: tf.Tensor) => instanceNormLeakyReluFast(xi as tf.Tensor4D, gamma, beta, 0.01).sum())([x]);
      await g[0].data();
      tf.dispose(g);
    };
    try {
      await step(); // pipelines compile
      const fused = await dispatchesOf(step);
      setWebGpuFusion(false);
      await step();
      const stock = await dispatchesOf(step);
      // forward 1 + backward 2, plus the sum and its gradient (a fill/broadcast): at most 3 more.
      expect(fused).toBeLessThanOrEqual(6);
      expect(stock).toBeGreaterThan(4 * fused);
    } finally {
      setWebGpuFusion(true);
      tf.dispose([x, gamma, beta]);
    }
  });

  // Targets cast from int32 one-hots keep int32 words on webgpu (the product's deepSupervisionTargets); the bench's are
  // float32 arrays: both layouts are read.
  const lossCases: [string, number[], boolean][] = [
    ["4 classes, targets cast from int32", [2, 6, 5, 4], true],
    ["3 classes, float32 targets, more pixels than one workgroup pass", [3, 20, 17, 3], false],
  ];
  for (const [name, shape, castTargets] of lossCases) {
    it(`CE + soft Dice loss and its logit gradient match cpu: ${name}`, async (ctx) => {
      if (!start.ok) ctx.skip();
      const c = shape[3];
      const n = shape[0] * shape[1] * shape[2];
      const zs = randn(n * c, 11).map((v) => 2 * v);
      const labels = Array.from(randn(n, 12), (v) => Math.min(c - 1, Math.floor(Math.abs(v) * c)));
      const run = (fused: boolean) => () => {
        const z = tf.tensor4d(zs, shape as [number, number, number, number]);
        const hot = new Float32Array(n * c);
        labels.forEach((l, k) => {
          hot[k * c + l] = 1;
        });
        const g = (
          castTargets
            ? tf.cast(tf.oneHot(tf.tensor3d(labels, [shape[0], shape[1], shape[2]], "int32"), c), "float32")
            : tf.tensor4d(hot, shape as [number, number, number, number])
        ) as tf.Tensor4D;
        const f = (zi: tf.Tensor) =>
          tf.mul(
            fused ? ceDiceLoss(zi as tf.Tensor4D, g) : ceDiceLossReference(zi as tf.Tensor4D, g),
            0.7,
          ) as tf.Scalar;
        const { value, grad } = tf.valueAndGrad(f)(z);
        return [value, grad];
      };
      const want = await on("cpu", run(false));
      await tf.setBackend("webgpu");
      const before = tf.memory().numTensors;
      const got = await on("webgpu", run(true));
      expect(tf.memory().numTensors).toBe(before);
      expect(Math.abs(got[0][0] - want[0][0])).toBeLessThan(1e-4 * Math.abs(want[0][0]));
      expect(maxRelErr(got[1], want[1])).toBeLessThan(1e-3);
    });
  }

  const optimizers: [string, () => Optimizer][] = [
    ["SGD Nesterov with weight decay", () => sgdNesterov({ lr: 0.05, momentum: 0.9, weightDecay: 3e-3 })],
    ["Adam", () => adam({ lr: 0.01, beta1: 0.5, beta2: 0.99, eps: 1e-8 })],
  ];
  /**
   * 3 optimizer steps of a tiny linear layer on `backend` from seeded weights: one gradient map per input batch in
   * `seeds` (two: a discriminator's real and fake passes, differentiated apart and handed to apply together). The
   * final weights and optimizer slots, and the dispatches of the last apply.
   */
  const trajectory = async (backend: string, make: () => Optimizer, paramSeed: number, seeds: number[]) => {
    await tf.setBackend(backend);
    const store = new ParamStore(paramSeed);
    store.add("w", [3, 5], { kind: "torchDefault" });
    store.add("b", [5], { kind: "torchDefault", fanIn: 3 });
    const opt = make();
    const xs = seeds.map((seed) => tf.tensor2d(randn(4 * 3, seed), [4, 3]));
    const loss = (x: tf.Tensor2D) => () =>
      tf.tidy(() => tf.square(tf.add(tf.matMul(x, store.get("w")), store.get("b"))).mean() as tf.Scalar);
    let updates = 0;
    for (let i = 0; i < 3; i++) {
      const [first, second] = xs.map((x) => store.valueAndGrads(loss(x)));
      tf.dispose([first.value, second?.value].filter((t) => t !== undefined));
      updates = await dispatchesOf(async () => {
        opt.apply(store, first.grads, second?.grads);
        await store.get("b").data();
      });
    }
    const out = [
      await store.get("w").data(),
      await store.get("b").data(),
      ...(await Promise.all(opt.variables().map((v) => v.data()))),
    ];
    opt.dispose();
    store.dispose();
    tf.dispose(xs);
    return { out: out as Float32Array[], updates };
  };

  for (const [name, make] of optimizers) {
    it(`${name}: in-place grouped dispatches, same trajectory as cpu over 3 steps`, async (ctx) => {
      if (!start.ok) ctx.skip();
      const want = await trajectory("cpu", make, 7, [8]);
      const got = await trajectory("webgpu", make, 7, [8]);
      expect(got.updates).toBe(1); // w and b in one grouped dispatch
      expect(got.out.length).toBe(want.out.length);
      for (const [i, g] of got.out.entries()) expect(maxRelErr(g, want.out[i]), `array ${i}`).toBeLessThan(1e-3);
    });
  }

  for (const [name, make] of optimizers) {
    it(`${name} given two gradient contributions: one grouped dispatch sums them, same trajectory as cpu`, async (ctx) => {
      if (!start.ok) ctx.skip();
      const want = await trajectory("cpu", make, 9, [10, 11]);
      const before = tf.memory().numTensors;
      const got = await trajectory("webgpu", make, 9, [10, 11]);
      expect(tf.memory().numTensors).toBe(before);
      expect(got.updates).toBe(1); // both parameters' two gradients in one dispatch, no Add
      expect(got.out.length).toBe(want.out.length);
      for (const [i, g] of got.out.entries()) expect(maxRelErr(g, want.out[i]), `array ${i}`).toBeLessThan(1e-3);
    });
  }

  it("an optimizer falls back to the op graph when a parameter's buffer is shared (no in-place write seen elsewhere)", async (ctx) => {
    if (!start.ok) ctx.skip();
    await tf.setBackend("webgpu");
    const store = new ParamStore(3);
    store.add("w", [4], { kind: "ones" });
    const alias = tf.reshape(store.get("w"), [2, 2]); // shares w's data
    const opt = sgdNesterov({ lr: 0.5, momentum: 0, weightDecay: 0 });
    opt.apply(store, { w: tf.ones([4]) });
    expect(Array.from(await alias.data())).toEqual([1, 1, 1, 1]);
    expect(Array.from(await store.get("w").data())).toEqual([0.5, 0.5, 0.5, 0.5]);
    tf.dispose(alias);
    opt.dispose();
    store.dispose();
  });
  /**
   * Forward value and the gradients of sum(f(inputs) * dy) for every input, on cpu with `reference` and on webgpu
   * with `fused` (fusion on), compared with the tolerances stated at the top; also returns the webgpu dispatches of one
   * such step after a warm-up.
   */
  async function compareWithCpu(
    inputs: { shape: number[]; data: Float32Array }[],
    outShape: number[],
    fused: (...xs: tf.Tensor[]) => tf.Tensor,
    reference: (...xs: tf.Tensor[]) => tf.Tensor,
  ): Promise<number> {
    const dys = randn(
      outShape.reduce((a, b) => a * b, 1),
      21,
    );
    const run = (f: (...xs: tf.Tensor[]) => tf.Tensor) => () => {
      const xs = inputs.map((i) => tf.tensor(i.data, i.shape));
      const dy = tf.tensor(dys, outShape);
      const y = f(...xs);
      expect(y.shape).toEqual(outShape);
      const grads = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), dy)) as tf.Scalar)(xs);
      return [y, ...grads];
    };
    const want = await on("cpu", run(reference));
    const got = await on("webgpu", run(fused));
    expect(maxRelErr(got[0], want[0]), "forward").toBeLessThan(1e-4);
    for (let i = 1; i < want.length; i++) expect(maxRelErr(got[i], want[i]), `gradient ${i}`).toBeLessThan(1e-3);
    await tf.setBackend("webgpu");
    const before = tf.memory().numTensors;
    const dispatches = await dispatchesOf(async () => {
      const out = tf.tidy(run(fused));
      await Promise.all(out.map((t) => t.data()));
      tf.dispose(out);
    });
    expect(tf.memory().numTensors).toBe(before);
    return dispatches;
  }

  const input = (shape: number[], seed: number, scale = 1) => ({
    shape,
    data: randn(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ).map((v) => v * scale),
  });

  it("bias + leaky ReLU (rank 4 and rank 2, more rows than lanes): values and gradients match cpu, 2 dispatches", async (ctx) => {
    if (!start.ok) ctx.skip();
    for (const shape of [
      [2, 5, 7, 19],
      [3, 40],
    ]) {
      const c = shape[shape.length - 1];
      const n = await compareWithCpu(
        [input(shape, 31), input([c], 32, 0.5)],
        shape,
        (x, b) => biasLeakyRelu(x, b as tf.Tensor1D, 0.2),
        (x, b) => leakyRelu(tf.add(x, b), 0.2),
      );
      // The fused op twice (the value, and again under tf.grads) and its backward once, plus mul, sum and their
      // gradients (3): 6. The op graph: 2 x 2 forward + 5 backward + 3.
      expect(n, `dispatches ${shape}`).toBeLessThanOrEqual(6);
    }
  });

  it("bias + tanh (a generator's output layer: few channels, many rows; large inputs): values and gradients match cpu, 2 dispatches", async (ctx) => {
    if (!start.ok) ctx.skip();
    for (const [shape, scale] of [
      [[2, 9, 8, 5], 1],
      [[3, 40], 30], // |x| up to ~100: tanh saturates without overflow
    ] as [number[], number][]) {
      const c = shape[shape.length - 1];
      const n = await compareWithCpu(
        [input(shape, 41, scale), input([c], 42, 0.5)],
        shape,
        (x, b) => biasTanh(x, b as tf.Tensor1D),
        (x, b) => tf.tanh(tf.add(x, b)),
      );
      expect(n, `dispatches ${shape}`).toBeLessThanOrEqual(6); // as bias + leaky ReLU
    }
  });

  it("bias + leaky ReLU + 2x2 average pool: values and gradients match cpu", async (ctx) => {
    if (!start.ok) ctx.skip();
    const n = await compareWithCpu(
      [input([2, 6, 4, 18], 33), input([18], 34, 0.5)],
      [2, 3, 2, 18],
      (x, b) => biasLeakyReluAvgPool2x2(x as tf.Tensor4D, b as tf.Tensor1D, 0.2),
      (x, b) => avgPool2x2(leakyRelu(tf.add(x, b), 0.2) as tf.Tensor4D),
    );
    expect(n).toBeLessThanOrEqual(6); // as above: 2 forward + 1 backward + 3
  });

  it("2x2 average pool: gradients of any order match cpu's reshape + mean (WGAN-GP's penalty path)", async (ctx) => {
    if (!start.ok) ctx.skip();
    const xs = randn(2 * 4 * 6 * 3, 35);
    const ws = randn(2 * 2 * 3 * 3, 36);
    // A penalty-like term: || d/dx sum(pool(x)^2 * w) ||^2, differentiated again with respect to w.
    const run = () => {
      const x = tf.tensor4d(xs, [2, 4, 6, 3]);
      const w = tf.tensor4d(ws, [2, 2, 3, 3]);
      const penalty = (wi: tf.Tensor) => {
        const gx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(tf.square(avgPool2x2(xi as tf.Tensor4D)), wi)))(x);
        return tf.sum(tf.square(gx)) as tf.Scalar;
      };
      const { value, grad } = tf.valueAndGrad(penalty)(w);
      return [value, grad, avgPool2x2(x)];
    };
    const want = await on("cpu", run);
    const got = await on("webgpu", run);
    for (let i = 0; i < want.length; i++) expect(maxRelErr(got[i], want[i]), `output ${i}`).toBeLessThan(1e-3);
  });

  it("2x2 transposed convolution + bias: values and gradients match cpu's matMul + pixel shuffle", async (ctx) => {
    if (!start.ok) ctx.skip();
    const n = await compareWithCpu(
      [input([2, 3, 5, 6], 37), input([2, 2, 4, 6], 38, 0.3), input([4], 39)],
      [2, 6, 10, 4],
      (x, w, b) => convTranspose2x2(x as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D),
      (x, w, b) => convTranspose2x2(x as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D), // cpu: the op graph
    );
    expect(n).toBeLessThanOrEqual(12);
    // Inference: one dispatch.
    await tf.setBackend("webgpu");
    const x = tf.tensor4d(randn(2 * 3 * 5 * 6, 40), [2, 3, 5, 6]);
    const w = tf.tensor4d(randn(2 * 2 * 4 * 6, 41), [2, 2, 4, 6]);
    const b = tf.tensor1d(randn(4, 42));
    const once = await dispatchesOf(async () => {
      const y = convTranspose2x2(x, w, b);
      await y.data();
      y.dispose();
    });
    expect(once).toBe(1);
    tf.dispose([x, w, b]);
  });

  it("mean softplus loss (both signs): value and gradient match cpu, 2 dispatches", async (ctx) => {
    if (!start.ok) ctx.skip();
    for (const sign of [1, -1] as const) {
      const ts = randn(70, 43).map((v) => 6 * v); // beyond the exp overflow-safe range of a naive log(1 + e^t)
      const run = (fused: boolean) => () => {
        const t = tf.tensor2d(ts, [70, 1]);
        const f = (ti: tf.Tensor) =>
          fused ? meanSoftplus(ti, sign) : (tf.mean(tf.softplus(sign === 1 ? ti : tf.neg(ti))) as tf.Scalar);
        const { value, grad } = tf.valueAndGrad(f)(t);
        return [value, grad];
      };
      const want = await on("cpu", run(false));
      const got = await on("webgpu", run(true));
      expect(Math.abs(got[0][0] - want[0][0])).toBeLessThan(1e-5 * Math.abs(want[0][0]) + 1e-6);
      expect(maxRelErr(got[1], want[1])).toBeLessThan(1e-4);
      await tf.setBackend("webgpu");
      const t = tf.tensor2d(ts, [70, 1]);
      const n = await dispatchesOf(async () => {
        const { value, grad } = tf.valueAndGrad((ti: tf.Tensor) => meanSoftplus(ti, sign))(t);
        await grad.data();
        tf.dispose([value, grad]);
      });
      t.dispose();
      expect(n).toBe(2);
    }
  });

  it("a project kernel whose WGSL does not compile is reported by name when its result is read", async (ctx) => {
    if (!start.ok) ctx.skip();
    await tf.setBackend("webgpu");
    const backend = rawWebGpuBackend();
    if (!backend) throw new Error("webgpu fusion is not active");
    const y = tf.zeros([4]);
    const broken = `
@group(0) @binding(0) var<storage, read_write> y : array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid : vec3<u32>) { y[gid.x] = undefined_name; }`;
    rawDispatch(backend, "deliberately broken test kernel", broken, [y], [], [1, 1, 1], [y]);
    const read = y.data();
    await expect(read).rejects.toThrow(WebGpuKernelCompileError);
    await expect(read).rejects.toThrow(/deliberately broken test kernel.*undefined_name/s);
    // Reported once; a second dispatch of the same kernel throws at once; other work goes on.
    expect(() => rawDispatch(backend, "deliberately broken test kernel", broken, [y], [], [1, 1, 1], [y])).toThrow(
      /deliberately broken test kernel/,
    );
    await settleKernelCompiles();
    const ok = tf.add(tf.ones([2]), 1);
    expect(Array.from(await ok.data())).toEqual([2, 2]);
    tf.dispose([y, ok]);
  });
});
