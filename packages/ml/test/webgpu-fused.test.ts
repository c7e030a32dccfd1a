// The project's fused webgpu kernels (issue 15: kernels/webgpu/) against the cpu backend's op graphs, with gradients,
// and their dispatch counts. Runs where Dawn finds an adapter (CI: lavapipe, SYNTHMRI_REQUIRE_WEBGPU=1, where a
// missing adapter fails in webgpu.test.ts); elsewhere skipped with the reason printed. Small shapes: lavapipe is slow.
// Tolerances: float32 on both sides, different summation orders (GPU: 64-way tree per workgroup; cpu: serial), so
// relative to the largest magnitude 1e-4 for forward values and 1e-3 for gradients and optimizer trajectories.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWebGpu, type WebGpuStart } from "../src/backend/webgpu.js";
import {
  adam,
  ceDiceLoss,
  ceDiceLossReference,
  diffGpuCounts,
  gpuCounts,
  instanceNorm,
  instanceNormLeakyReluFast,
  leakyRelu,
  type Optimizer,
  ParamStore,
  sgdNesterov,
  tf,
} from "../src/index.js";
import { setWebGpuFusion } from "../src/kernels/webgpu/index.js";
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
  for (const [name, make] of optimizers) {
    it(`${name}: one in-place dispatch per parameter, same trajectory as cpu over 3 steps`, async (ctx) => {
      if (!start.ok) ctx.skip();
      const trajectory = async (backend: string) => {
        await tf.setBackend(backend);
        const store = new ParamStore(7);
        store.add("w", [3, 5], { kind: "torchDefault" });
        store.add("b", [5], { kind: "torchDefault", fanIn: 3 });
        const opt = make();
        const x = tf.tensor2d(randn(4 * 3, 8), [4, 3]);
        const loss = () =>
          tf.tidy(() => tf.square(tf.add(tf.matMul(x, store.get("w")), store.get("b"))).mean() as tf.Scalar);
        let updates = 0;
        for (let i = 0; i < 3; i++) {
          const { value, grads } = store.valueAndGrads(loss);
          value.dispose();
          updates = await dispatchesOf(async () => {
            opt.apply(store, grads);
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
        x.dispose();
        return { out: out as Float32Array[], updates };
      };
      const want = await trajectory("cpu");
      const got = await trajectory("webgpu");
      expect(got.updates).toBe(2);
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
});
