// Native Transpose, large broadcasting binary ops and the in-place optimizer updates, against the stock cpu kernels
// and the JS op-graph optimizers. All must agree bit for bit (same float32 operations in the same order).
// Skips when the addon is not built.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tf } from "../src/backend/tf.js";
import { adam, type Optimizer, sgdNesterov } from "../src/layers/optimizers.js";
import { ParamStore } from "../src/layers/param-store.js";
import {
  biasLeakyRelu,
  biasLeakyReluReference,
  instanceNormLeakyRelu,
  instanceNormReference,
  loadNativeAddon,
  nativeKernelsActive,
  registerNativeKernels,
  setNativeThreads,
  unregisterNativeKernels,
} from "../src/native/index.js";

import { rand, seeded, stockThenNative } from "./native-compare.js";

const addon = loadNativeAddon();

/** f's outputs on the stock kernels and on the native ones. */
function both(f: () => tf.Tensor[]): [Float32Array[], Float32Array[]] {
  const [ref, got] = stockThenNative(f);
  return [ref.map((o) => o.values), got.map((o) => o.values)];
}

function expectSame(ref: Float32Array[], got: Float32Array[]): void {
  expect(got.length).toBe(ref.length);
  ref.forEach((r, i) => {
    expect(got[i].length).toBe(r.length);
    let diffs = 0;
    for (let j = 0; j < r.length; j++) if (!Object.is(got[i][j], r[j])) diffs++;
    expect(diffs, `output ${i}: ${diffs} of ${r.length} values differ`).toBe(0);
  });
}

describe.skipIf(addon == null)("native transpose, binary ops and optimizer updates", () => {
  let before = 0;
  beforeAll(async () => {
    await tf.setBackend("cpu");
    before = tf.memory().numTensors;
  });
  afterAll(() => {
    expect(tf.memory().numTensors).toBe(before);
    unregisterNativeKernels();
  });

  for (const threads of [1, 2]) {
    it(`transpose agrees exactly for pixel-shuffle, weight, 2-D and size-1-axis perms (${threads}t)`, () => {
      setNativeThreads(threads);
      const next = seeded(3);
      const cases: [number[], number[]][] = [
        [
          [2, 5, 6, 2, 2, 7],
          [0, 1, 3, 2, 4, 5],
        ], // convTranspose2x2 pixel shuffle
        [
          [2, 2, 6, 9],
          [3, 0, 1, 2],
        ], // its weight layout
        [
          [300, 257],
          [1, 0],
        ],
        [
          [1, 40, 1, 33],
          [3, 2, 1, 0],
        ],
        [
          [4, 64, 64, 3],
          [3, 1, 2, 0],
        ],
        [
          [5, 6, 7],
          [0, 1, 2],
        ],
        [[7], [0]],
      ];
      const xs = cases.map(([shape]) => rand(shape, next));
      const [ref, got] = both(() => cases.map(([, perm], i) => tf.transpose(xs[i], perm)));
      expectSame(ref, got);
      // Shapes too, through the engine.
      cases.forEach(([shape, perm], i) => {
        const t = tf.transpose(xs[i], perm);
        expect(t.shape).toEqual(perm.map((p) => shape[p]));
        t.dispose();
      });
      tf.dispose(xs);
    });

    it(`large add/sub/mul/div with broadcasting agree exactly (${threads}t)`, () => {
      setNativeThreads(threads);
      const next = seeded(11);
      const a = rand([4, 64, 64, 16], next);
      const bias = rand([16], next);
      const perSample = rand([4, 1, 1, 16], next);
      const col = rand([4, 64, 1, 1], next);
      const b = rand([4, 64, 64, 16], next);
      const big = rand([70000], next);
      const [ref, got] = both(() => [
        tf.add(a, b),
        tf.sub(a, bias),
        tf.mul(perSample, a),
        tf.div(a, tf.add(tf.abs(col), 0.5)),
        tf.sub(col, a),
        tf.mul(big, tf.scalar(3)),
        tf.div(tf.scalar(2), tf.add(tf.abs(big), 1)),
        tf.add(tf.reshape(bias, [1, 16]), tf.reshape(tf.slice(big, [0], [4096]), [256, 16])),
      ]);
      expectSame(ref, got);
      tf.dispose([a, bias, perSample, col, b, big]);
    });
  }

  it("large sums (bias-gradient and per-pixel patterns, whole tensor), mean, exp and log agree with stock", () => {
    setNativeThreads(2);
    const next = seeded(21);
    const a = rand([4, 32, 32, 16], next);
    const p = rand([4, 64, 64, 4], next);
    const [ref, got] = both(() => [
      tf.sum(a, [0, 1, 2]),
      tf.sum(p, -1),
      tf.sum(p),
      tf.mean(a, [0, 1, 2], true),
      tf.sum(tf.reshape(a, [4, 16384]), 1),
      tf.mean(tf.reshape(a, [4, 16, 2, 16, 2, 16]), [2, 4]), // avg-pool 2x2 as reshape + mean
      tf.sum(tf.reshape(a, [4, 16, 2, 16, 2, 16]), [2, 4]),
    ]);
    ref.forEach((r, i) => {
      let err = 0;
      for (let j = 0; j < r.length; j++) err = Math.max(err, Math.abs(got[i][j] - r[j]) / (1 + Math.abs(r[j])));
      expect(err, `sum ${i}`).toBeLessThan(1e-5);
    });
    const [refE, gotE] = both(() => [tf.exp(p), tf.log(tf.add(tf.abs(p), 1e-3)), tf.logSoftmax(p, -1)]);
    expectSame(refE, gotE);
    tf.dispose([a, p]);
  });

  it("bias-gradient sums (row chunks, wide column groups) are equal at 1 and 2 threads and within rounding of stock", () => {
    const next = seeded(22);
    const g = rand([4, 64, 64, 16], next); // 8 row chunks of 16 columns
    const wide = rand([20, 5000], next); // wider than the row-chunk path: column groups
    const run = (threads: number) => {
      setNativeThreads(threads);
      return both(() => [
        tf.sum(g, [0, 1, 2]),
        tf.sum(wide, 0),
        tf.sum(tf.slice(g, [0, 0, 0, 0], [1, 8, 8, 16]), [0, 1, 2]),
      ]);
    };
    const [ref, one] = run(1);
    const [, two] = run(2);
    expectSame(one, two);
    ref.forEach((r, i) => {
      let err = 0;
      for (let j = 0; j < r.length; j++) err = Math.max(err, Math.abs(one[i][j] - r[j]) / (1 + Math.abs(r[j])));
      expect(err, `sum ${i}`).toBeLessThan(1e-6);
    });
    tf.dispose([g, wide]);
  });

  it("in-place bias + activation (the fused kernels' epilogue) equals the JS arithmetic bit for bit at 2 threads", () => {
    setNativeThreads(2);
    const next = seeded(23);
    const channels = 24;
    const t = rand([4, 40, 40, channels], next);
    const base = Float32Array.from(t.dataSync() as Float32Array); // 153600 values: several tasks
    t.dispose();
    base.set([Number.NaN, -0, 0, 1e30, -1e30, 5.999, 6.5, -3], 0);
    const bias = Float32Array.from({ length: channels }, (_, i) => (i - 12) / 7);
    const modes = ["linear", "relu", "relu6", "leakyrelu"];
    for (const [mode, activation] of modes.entries()) {
      for (const b of [bias, null]) {
        const want = Float32Array.from(base);
        if (b != null)
          for (let i = 0; i < want.length; i += channels) for (let c = 0; c < channels; c++) want[i + c] += b[c];
        for (let i = 0; i < want.length; i++) {
          const v = want[i];
          if (activation === "relu") want[i] = Math.max(v, 0);
          else if (activation === "relu6") want[i] = Math.min(Math.max(v, 0), 6);
          else if (activation === "leakyrelu") want[i] = v > 0 ? v : 0.2 * v;
        }
        const got = Float32Array.from(base);
        addon?.biasActivation?.(got, b ?? new Float32Array(0), channels, mode, 0.2);
        expectSame([want], [got]);
      }
    }
  });

  it("large concat, split and column slices agree exactly, and concat's gradient too", () => {
    setNativeThreads(2);
    const next = seeded(23);
    const a = rand([4, 32, 32, 16], next);
    const b = rand([4, 32, 32, 24], next);
    const gy = rand([4, 32, 32, 40], next);
    const [ref, got] = both(() => [
      tf.concat([a, b], 3),
      ...tf.split(b, [8, 16], 3),
      tf.slice(b, [0, 0, 0, 5], [4, 32, 32, 7]),
      tf.slice(b, [1, 2, 0, 0], [2, 5, 32, 24]),
      ...tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.concat([x, y], 3), gy)))([a, b]),
    ]);
    expectSame(ref, got);
    tf.dispose([a, b, gy]);
  });

  for (const threads of [1, 2]) {
    // Own time limit: the stock reference's broadcast gradients over 2M elements take minutes on a loaded machine.
    it(`bias + leakyRelu fused: forward and gradients equal stock leakyRelu(x + b) (${threads}t)`, () => {
      expect(registerNativeKernels({ threads })).toBe(true);
      const next = seeded(31 + threads);
      for (const shape of [
        [16, 4096],
        [3, 17, 9, 24],
        [16, 64, 64, 32],
      ]) {
        const c = shape[shape.length - 1];
        const x = rand(shape, next);
        const b = rand([c], next) as tf.Tensor1D;
        const gy = rand(shape, next);
        const run = (f: typeof biasLeakyReluReference) =>
          tf.tidy(() => {
            const loss = (a: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(f(a, bb as tf.Tensor1D, 0.2), gy));
            return [f(x, b, 0.2), ...tf.grads(loss)([x, b])].map((t) => (t.dataSync() as Float32Array).slice());
          });
        const ref = run(biasLeakyReluReference);
        const got = run(biasLeakyRelu);
        // The stock kernel multiplies by alpha in double (one rounding less): forward and dx agree to float32
        // rounding; the bias gradient is a sum in another order.
        ref.forEach((r, i) => {
          let err = 0;
          let scale = 0;
          for (const v of r) scale = Math.max(scale, Math.abs(v));
          for (let j = 0; j < r.length; j++) err = Math.max(err, Math.abs(got[i][j] - r[j]) / (1e-3 + scale));
          expect(err, `output ${i}`).toBeLessThan(i < 2 ? 2e-7 : 1e-5);
        });
        tf.dispose([x, b, gy]);
      }
    }, 600_000);

    it(`nearest 2x upsample equals stock; its gradient equals the 2x2 block sums (${threads}t)`, () => {
      setNativeThreads(threads);
      const next = seeded(41);
      const x = rand([3, 5, 7, 6], next) as tf.Tensor4D;
      const big = rand([16, 32, 32, 64], next) as tf.Tensor4D;
      const gy = rand([3, 10, 14, 6], next);
      const [ref, got] = both(() => [
        tf.image.resizeNearestNeighbor(x, [10, 14]),
        tf.image.resizeNearestNeighbor(x, [11, 9]), // not 2x: stock kernel
        tf.image.resizeNearestNeighbor(big, [64, 64]),
        tf.tanh(big),
      ]);
      expectSame(ref, got);
      // The stock cpu ResizeNearestNeighborGrad offsets dy by the images' batch stride, so it is wrong for every
      // sample after the first (tfjs 4.22): check against the definition instead.
      expect(registerNativeKernels()).toBe(true);
      const dx = tf.tidy(() =>
        tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.image.resizeNearestNeighbor(a as tf.Tensor4D, [10, 14]), gy)))(x),
      );
      const g = gy.dataSync();
      const want = new Float32Array(3 * 5 * 7 * 6);
      for (let b = 0; b < 3; b++)
        for (let i = 0; i < 5; i++)
          for (let j = 0; j < 7; j++)
            for (let c = 0; c < 6; c++) {
              const at = (y: number, xx: number) => g[((b * 10 + y) * 14 + xx) * 6 + c];
              want[((b * 5 + i) * 7 + j) * 6 + c] =
                at(2 * i, 2 * j) + at(2 * i, 2 * j + 1) + at(2 * i + 1, 2 * j) + at(2 * i + 1, 2 * j + 1);
            }
      expectSame([want], [(dx.dataSync() as Float32Array).slice()]);
      tf.dispose([x, big, gy, dx]);
    });
  }

  // Planes larger than the kernel's 64-pixel float blocks, odd sizes, one sample split into channel groups.
  for (const [shape, alpha, threads] of [
    [[1, 23, 17, 16], 0.01, 2],
    [[3, 20, 13, 12], 0.2, 1],
    [[2, 9, 40, 32], 1, 2],
  ] as [number[], number, number][]) {
    it(`instance norm + leakyRelu(${alpha}) on [${shape}] matches stock ops, forward and gradients (${threads}t)`, () => {
      expect(registerNativeKernels({ threads })).toBe(true);
      const next = seeded(shape[1] * 7 + shape[3]);
      const c = shape[3];
      const x = tf.tidy(() => tf.add(tf.mul(rand(shape, next), 4), 1.5)) as tf.Tensor4D;
      const gamma = tf.tidy(() => tf.add(rand([c], next), 1)) as tf.Tensor1D;
      const beta = rand([c], next) as tf.Tensor1D;
      const gy = rand(shape, next);
      const run = (f: typeof instanceNormReference) =>
        tf.tidy(() => {
          const loss = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.mul(f(a as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5, alpha), gy));
          return [f(x, gamma, beta, 1e-5, alpha), ...tf.grads(loss)([x, gamma, beta])].map((t) =>
            (t.dataSync() as Float32Array).slice(),
          );
        });
      const ref = run(instanceNormReference);
      const got = run((a, g, b, eps, al) => instanceNormLeakyRelu(a, g, b, { eps, alpha: al }));
      ref.forEach((r, i) => {
        let scale = 0;
        let err = 0;
        for (const v of r) scale = Math.max(scale, Math.abs(v));
        for (let j = 0; j < r.length; j++) err = Math.max(err, Math.abs(got[i][j] - r[j]) / (1 + scale));
        expect(err, `output ${i}`).toBeLessThan(1e-4);
      });
      tf.dispose([x, gamma, beta, gy]);
    });
  }

  for (const threads of [1, 2]) {
    it(`conv and matMul with K over one 256-deep block, odd M and N (in-place A micro-kernel) match stock (${threads}t)`, () => {
      setNativeThreads(threads);
      const next = seeded(51);
      const x = rand([2, 7, 9, 40], next) as tf.Tensor4D; // K = 3*3*40 = 360
      const w = rand([3, 3, 40, 19], next) as tf.Tensor4D;
      const a = rand([13, 300], next) as tf.Tensor2D;
      const b = rand([300, 35], next) as tf.Tensor2D;
      const gy = tf.tidy(() => rand(tf.conv2d(x, w, 1, "same").shape, next));
      const [ref, got] = both(() => [
        tf.conv2d(x, w, 1, "same"),
        tf.conv2d(x, w, 2, "valid"),
        tf.matMul(a, b),
        ...tf.grads((xi: tf.Tensor, wi: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, 1, "same"), gy)),
        )([x, w]),
      ]);
      ref.forEach((r, i) => {
        let scale = 0;
        let err = 0;
        for (const v of r) scale = Math.max(scale, Math.abs(v));
        for (let j = 0; j < r.length; j++) err = Math.max(err, Math.abs(got[i][j] - r[j]) / (1 + scale));
        expect(err, `output ${i}`).toBeLessThan(2e-5);
      });
      tf.dispose([x, w, a, b, gy]);
    });
  }

  it("the native kernels reject malformed calls with a message", () => {
    const f = new Float32Array(6);
    expect(() => addon?.transpose(f, f, Int32Array.of(2, 3), Int32Array.of(0, 0))).toThrow(/permutation/);
    expect(() => addon?.transpose(f, new Float32Array(5), Int32Array.of(2, 3), Int32Array.of(1, 0))).toThrow(
      /out has 5 elements, expected 6/,
    );
    expect(() => addon?.binary(2, f, f, f, Int32Array.of(2, 3), Int32Array.of(3, 1), Int32Array.of(4, 1))).toThrow(
      /past the end/,
    );
    expect(() => addon?.binary(7, f, f, f, Int32Array.of(6), Int32Array.of(1), Int32Array.of(1))).toThrow(/op must/);
    expect(() => addon?.sgdNesterov(f, f, new Float32Array(2), Float32Array.of(1, 2, 3))).toThrow(/velocity/);
    expect(() => addon?.adam(f, f, f, f, Float32Array.of(1, 2))).toThrow(/adam scalars/);
    expect(() => addon?.copyRows(f, f, Int32Array.of(0, 3, 0, 3, 2, 4))).toThrow(/past the end/);
    expect(() => addon?.sum2d(f, f, Int32Array.of(2, 3, 1))).toThrow(/out has 6 elements, expected 3/);
    expect(() => addon?.biasLeaky(f, new Float32Array(4), f, Float32Array.of(0.2))).toThrow(/multiple of the bias/);
    expect(() => addon?.upsample2x(f, f, Int32Array.of(1, 1, 2, 3))).toThrow(/y has 6 elements, expected 24/);
  });

  /** Three optimizer steps from the same start and gradients; returns params and optimizer state bytes. */
  function train(make: () => Optimizer, native: boolean): { params: Float32Array[]; state: Uint8Array } {
    if (native) expect(registerNativeKernels()).toBe(true);
    else unregisterNativeKernels();
    expect(nativeKernelsActive()).toBe(native);
    const store = new ParamStore(5);
    store.add("w", [3, 3, 8, 16], { kind: "torchDefault" });
    store.add("b", [16], { kind: "uniform", bound: 0.5 });
    store.add("big", [70000], { kind: "normal", std: 1 });
    const opt = make();
    const next = seeded(99);
    const dataIds = store.names().map((n) => store.get(n).dataId);
    for (let step = 0; step < 3; step++) {
      const grads: Record<string, tf.Tensor> = {};
      for (const name of store.names()) grads[name] = rand(store.get(name).shape, next);
      opt.apply(store, grads);
    }
    // In place on the native path (same data), a new array per assign on the op graph.
    expect(store.names().map((n, i) => store.get(n).dataId === dataIds[i])).toEqual(dataIds.map(() => native));
    const params = store.names().map((n) => (store.get(n).dataSync() as Float32Array).slice());
    const state = opt.getState().data.slice();
    opt.dispose();
    store.dispose();
    return { params, state };
  }

  for (const [label, make] of [
    ["SGD-Nesterov (m 0.99, wd 3e-5)", () => sgdNesterov({ lr: 0.05, momentum: 0.99, weightDecay: 3e-5 })],
    ["SGD-Nesterov without weight decay", () => sgdNesterov({ lr: 0.1, momentum: 0.9, weightDecay: 0 })],
    ["Adam (bench-gan: b1 0, b2 0.99, eps 1e-8)", () => adam({ lr: 2e-4, beta1: 0, beta2: 0.99, eps: 1e-8 })],
    ["Adam (defaults)", () => adam({ lr: 1e-3 })],
  ] as const) {
    it(`${label}: the in-place native update equals the tfjs op graph bit for bit, slots included`, () => {
      setNativeThreads(2);
      const ref = train(make, false);
      const got = train(make, true);
      expectSame(ref.params, got.params);
      expect(Buffer.from(got.state).equals(Buffer.from(ref.state))).toBe(true);
    });
  }

  it("a parameter whose data another tensor shares is not updated in place (the alias keeps its values)", () => {
    expect(registerNativeKernels()).toBe(true);
    const store = new ParamStore(1);
    const w = store.add("w", [4, 5], { kind: "normal", std: 1 });
    const alias = tf.reshape(w, [20]); // shares w's data
    const before = (alias.dataSync() as Float32Array).slice();
    const opt = sgdNesterov({ lr: 0.5, momentum: 0.9 });
    opt.apply(store, { w: tf.onesLike(w) });
    expect(Array.from(alias.dataSync())).toEqual(Array.from(before));
    const after = w.dataSync();
    expect(after[0]).not.toBe(before[0]);
    alias.dispose();
    opt.dispose();
    store.dispose();
  });
});
