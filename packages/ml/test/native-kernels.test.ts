// Native kernels vs the stock tfjs cpu kernels on random shapes (strides 1/2, same/valid, odd sizes), plus a
// finite-difference gradient check. Skips when the addon is not built (the product then runs on the JS kernels).
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-core/dist/register_all_gradients.js";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  instanceNormLeakyRelu,
  instanceNormReference,
  loadNativeAddon,
  registerNativeKernels,
  setNativeThreads,
  unregisterNativeKernels,
} from "../src/native/index.js";

import { maxRelativeError, rand, seeded, stockThenNative } from "./native-compare.js";

const addon = loadNativeAddon();
// Max |native - stock| / (1 + max |stock|) allowed: float32 sums in a different order.
const TOL = 2e-5;

/** Runs f on stock kernels, then on native ones, and returns the relative max error over all outputs. */
function compare(f: () => tf.Tensor[]): number {
  return maxRelativeError(...stockThenNative(f));
}

interface ConvCase {
  x: number[];
  k: number;
  cout: number;
  stride: 1 | 2;
  pad: "same" | "valid";
}
const convCases: ConvCase[] = [
  { x: [2, 9, 7, 3], k: 3, cout: 5, stride: 1, pad: "same" },
  { x: [2, 9, 7, 3], k: 3, cout: 5, stride: 2, pad: "same" },
  { x: [1, 11, 13, 4], k: 3, cout: 17, stride: 2, pad: "valid" },
  { x: [3, 8, 8, 16], k: 3, cout: 32, stride: 1, pad: "valid" },
  // 2 threads: the filter gradient splits dW's rows over a full im2col matrix, 288 pixels deep (two K blocks of dy).
  { x: [1, 18, 16, 8], k: 3, cout: 20, stride: 1, pad: "same" },
  { x: [2, 6, 5, 7], k: 1, cout: 9, stride: 1, pad: "same" },
  { x: [1, 10, 10, 5], k: 2, cout: 6, stride: 2, pad: "valid" },
  { x: [1, 12, 9, 2], k: 5, cout: 3, stride: 2, pad: "same" },
  // Filters of >= 64Ki floats are packed and flipped on the pool at 2 threads: several K blocks, a partial column group.
  { x: [1, 5, 4, 80], k: 3, cout: 100, stride: 1, pad: "same" },
  // >= 2048 output pixels: the filter gradient's pixel-block groups. 2304 pixels are 9 blocks of 256 in 5 groups of 2:
  // with 8 groups, 3 stayed empty and the previous case's partials in the scratch buffer were added into dW.
  { x: [2, 32, 32, 13], k: 3, cout: 24, stride: 1, pad: "same" },
  { x: [1, 48, 48, 20], k: 1, cout: 7, stride: 1, pad: "same" },
];
const maxErr: Record<string, number> = {};

describe.skipIf(addon == null)("native kernels vs stock cpu", () => {
  let before = 0;
  beforeAll(async () => {
    await tf.setBackend("cpu");
    before = tf.memory().numTensors;
  });
  afterAll(() => {
    expect(tf.memory().numTensors).toBe(before);
    unregisterNativeKernels();
    console.log(`native kernel max relative errors: ${JSON.stringify(maxErr)}`);
  });

  for (const threads of [1, 2]) {
    for (const c of convCases) {
      const name = `${threads}t x${c.x.join("x")} k${c.k} cout${c.cout} s${c.stride} ${c.pad}`;
      it(`conv2d forward + both gradients, ${name}`, () => {
        setNativeThreads(threads);
        const next = seeded(c.x[1] * 31 + c.k);
        const x = rand(c.x, next);
        const w = rand([c.k, c.k, c.x[3], c.cout], next);
        const gy = tf.tidy(() => rand(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad).shape, next));
        const err = compare(() => {
          const f = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad);
          const y = f(x, w);
          const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), gy)))([x, w]);
          return [y, dx, dw];
        });
        tf.dispose([x, w, gy]);
        maxErr.conv2d = Math.max(maxErr.conv2d ?? 0, err);
        expect(err).toBeLessThan(TOL);
      });
    }

    it(`conv2dTranspose 2x2 s2 and 3x3 s2 same (${threads}t)`, () => {
      setNativeThreads(threads);
      const next = seeded(7);
      const x = rand([3, 5, 7, 6], next);
      const w2 = rand([2, 2, 4, 6], next);
      const w3 = rand([3, 3, 4, 6], next);
      const err = compare(() => [
        tf.conv2dTranspose(x as tf.Tensor4D, w2 as tf.Tensor4D, [3, 10, 14, 4], 2, "valid"),
        tf.conv2dTranspose(x as tf.Tensor4D, w3 as tf.Tensor4D, [3, 10, 14, 4], 2, "same"),
        ...tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.square(tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, [3, 10, 14, 4], 2, "valid"))),
        )([x, w2]),
      ]);
      tf.dispose([x, w2, w3]);
      maxErr.conv2dTranspose = Math.max(maxErr.conv2dTranspose ?? 0, err);
      expect(err).toBeLessThan(TOL);
    });

    it(`matMul / batched / transposed / fused bias + leakyRelu (${threads}t)`, () => {
      setNativeThreads(threads);
      const next = seeded(11);
      const a = rand([16, 129], next);
      const b = rand([129, 200], next);
      const bt = rand([200, 129], next);
      const ba = rand([3, 7, 33], next);
      const bb = rand([3, 33, 5], next);
      const bias = rand([200], next);
      const err = compare(() => [
        tf.matMul(a, b),
        tf.matMul(a, bt, false, true),
        tf.matMul(b, a, true, true),
        tf.matMul(ba, bb),
        tf.matMul(ba, tf.slice(bb, [0, 0, 0], [1, 33, 5])),
        tf.fused.matMul({ a, b, bias, activation: "leakyrelu", leakyreluAlpha: 0.2 }),
      ]);
      tf.dispose([a, b, bt, ba, bb, bias]);
      maxErr.matMul = Math.max(maxErr.matMul ?? 0, err);
      expect(err).toBeLessThan(TOL);
    });

    it(`add (same shape, bias broadcast both ways, general broadcast) last-axis concat, slice and concat's gradient (${threads}t)`, () => {
      setNativeThreads(threads);
      const next = seeded(23);
      const a = rand([2, 5, 3, 7], next);
      const b = rand([2, 5, 3, 7], next);
      const bias = rand([7], next);
      const col = rand([2, 5, 1, 7], next);
      const c = rand([2, 5, 3, 4], next);
      const err = compare(() => [
        tf.add(a, b),
        tf.add(a, bias),
        tf.add(bias, a),
        tf.add(a, col),
        tf.concat([a, c, b], 3),
        tf.concat([a, b], 1),
        tf.slice(a, [1, 2, 0, 3], [1, 3, 2, 4]),
        tf.slice(a, [0, 0, 0, 0], [-1, -1, -1, 2]),
        tf.slice(bias, [2], [3]),
        ...tf.split(a, [3, 4], 3),
        tf.sum(a, [0, 1, 2]),
        tf.sum(a, [1, 0], true),
        tf.sum(a, [1, 2]),
        ...tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(tf.concat([p, q], 3))))([a, c]),
      ]);
      tf.dispose([a, b, bias, col, c]);
      maxErr.addConcat = Math.max(maxErr.addConcat ?? 0, err);
      expect(err).toBe(0);
    });

    it(`fused conv2d with bias + relu / relu6 / leakyrelu / linear, and without bias (${threads}t)`, () => {
      setNativeThreads(threads);
      const next = seeded(5);
      const x = rand([2, 9, 9, 4], next);
      const filter = rand([3, 3, 4, 8], next);
      const bias = rand([8], next);
      const fused = (activation: "relu" | "relu6" | "leakyrelu" | "linear", b?: tf.Tensor) =>
        tf.fused.conv2d({
          x: x as tf.Tensor4D,
          filter: filter as tf.Tensor4D,
          strides: 1,
          pad: "same",
          bias: b,
          activation,
          leakyreluAlpha: 0.2,
        });
      const err = compare(() => [
        fused("relu", bias),
        fused("relu6", tf.mul(bias, 8)),
        fused("leakyrelu", bias),
        fused("linear", bias),
        fused("leakyrelu"),
      ]);
      tf.dispose([x, filter, bias]);
      maxErr.fusedConv2d = Math.max(maxErr.fusedConv2d ?? 0, err);
      expect(err).toBeLessThan(TOL);
    });
  }

  for (const [alpha, threads] of [
    [0.01, 1],
    [1, 2],
  ]) {
    it(`fused instance norm + leakyRelu(${alpha}) forward and gradients vs stock ops (${threads}t)`, () => {
      expect(registerNativeKernels({ threads })).toBe(true);
      const next = seeded(17);
      const x = tf.tidy(() => tf.add(tf.mul(rand([3, 7, 9, 12], next), 3), 0.5)) as tf.Tensor4D;
      const gamma = tf.tidy(() => tf.add(rand([12], next), 1)) as tf.Tensor1D;
      const beta = rand([12], next) as tf.Tensor1D;
      const gy = rand([3, 7, 9, 12], next);
      const run = (f: typeof instanceNormReference) =>
        tf.tidy(() => {
          const loss = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.mul(f(a as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5, alpha), gy));
          return [f(x, gamma, beta, 1e-5, alpha), ...tf.grads(loss)([x, gamma, beta])].map((t) => t.dataSync().slice());
        });
      const ref = run(instanceNormReference);
      const got = run((a, g, b, eps, al) => instanceNormLeakyRelu(a, g, b, { eps, alpha: al }));
      let err = 0;
      ref.forEach((r, i) => {
        let scale = 0;
        for (const v of r) scale = Math.max(scale, Math.abs(v));
        for (let j = 0; j < r.length; j++) err = Math.max(err, Math.abs(got[i][j] - r[j]) / (1 + scale));
      });
      tf.dispose([x, gamma, beta, gy]);
      maxErr.instanceNorm = Math.max(maxErr.instanceNorm ?? 0, err);
      expect(err).toBeLessThan(1e-4);
    });
  }

  it("gradients agree with central finite differences", () => {
    expect(registerNativeKernels({ threads: 2 })).toBe(true);
    const next = seeded(3);
    const x = rand([2, 7, 6, 3], next);
    const w1 = rand([3, 3, 3, 4], next);
    const w2 = rand([2, 2, 5, 4], next);
    // conv (stride 2) -> transposed conv back up -> smooth loss: exercises all three conv kernels.
    const loss = (xi: tf.Tensor, a: tf.Tensor, b: tf.Tensor) =>
      tf.tidy(() => {
        const h = tf.tanh(tf.conv2d(xi as tf.Tensor4D, a as tf.Tensor4D, 2, "same"));
        const u = tf.conv2dTranspose(h as tf.Tensor4D, b as tf.Tensor4D, [2, 8, 6, 5], 2, "valid");
        return tf.sum(tf.square(u));
      });
    const grads = tf.grads(loss)([x, w1, w2]);
    const eps = 1e-2;
    let worst = 0;
    [x, w1, w2].forEach((p, pi) => {
      const base = p.dataSync().slice();
      const g = grads[pi].dataSync();
      let gmax = 0;
      for (const v of g) gmax = Math.max(gmax, Math.abs(v));
      for (let trial = 0; trial < 12; trial++) {
        const i = Math.floor((trial * base.length) / 12);
        const at = (delta: number) => {
          const v = base.slice();
          v[i] += delta;
          const args = [x, w1, w2].map((q, qi) => (qi === pi ? tf.tensor(v, p.shape) : q));
          const l = loss(args[0], args[1], args[2]);
          const out = l.dataSync()[0];
          tf.dispose([l, args[pi]]);
          return out;
        };
        const fd = (at(eps) - at(-eps)) / (2 * eps);
        worst = Math.max(worst, Math.abs(fd - g[i]) / (gmax + 1e-6));
      }
    });
    tf.dispose([x, w1, w2, ...grads]);
    maxErr.finiteDifference = worst;
    expect(worst).toBeLessThan(5e-3);
  });
  it("conv filter gradients are bit-identical at 1 and 2 threads (pixel-block groups and dW-row split)", () => {
    registerNativeKernels();
    const next = seeded(77);
    // 2048 pixels: 8 blocks of 256 in fixed groups; 8x8: one block, dW rows split.
    for (const shape of [
      [2, 32, 32, 4],
      [1, 8, 8, 24],
    ]) {
      const x = rand(shape, next) as tf.Tensor4D;
      const w = rand([3, 3, shape[3], 8], next) as tf.Tensor4D;
      const gy = rand([...shape.slice(0, 3), 8], next) as tf.Tensor4D;
      const dw = (threads: number) => {
        setNativeThreads(threads);
        return tf.tidy(() => {
          const g = tf.grad((wi: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, wi as tf.Tensor4D, 1, "same"), gy)))(w);
          return Array.from(g.dataSync() as Float32Array);
        });
      };
      const one = dw(1);
      expect(dw(2)).toEqual(one);
      expect(dw(1)).toEqual(one);
      tf.dispose([x, w, gy]);
    }
    setNativeThreads(1);
  });
});
