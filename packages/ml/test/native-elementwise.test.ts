// The cpu fast paths for broadcast elementwise ops and reductions (native/elementwise.ts) against the stock cpu
// kernels, on the broadcast patterns GAN training produces (keep-dims, size-1 axes, scalars, rank mismatch).
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-core/dist/register_all_gradients.js";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadNativeAddon, registerNativeKernels, unregisterNativeKernels } from "../src/native/index.js";

import { maxRelativeError, seeded, stockThenNative } from "./native-compare.js";

const addon = loadNativeAddon();

let next = seeded(3);
function rand(shape: number[], offset = 0): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => next() + offset),
    shape,
  );
}

/** f on stock kernels, then on the fast paths: max relative error, and the shapes must agree. */
function compare(f: () => tf.Tensor[]): number {
  const [ref, got] = stockThenNative(f, () => {
    next = seeded(3); // the same inputs for both runs
  });
  ref.forEach((r, i) => {
    expect(got[i].shape).toEqual(r.shape);
  });
  return maxRelativeError(ref, got);
}

const pairs: [number[], number[]][] = [
  [
    [2, 3, 4, 5],
    [2, 3, 4, 5],
  ],
  [[2, 3, 4, 5], [5]],
  [
    [2, 3, 4, 5],
    [2, 1, 1, 1],
  ],
  [
    [2, 3, 4, 5],
    [2, 3, 4, 1],
  ],
  [
    [2, 1, 4, 1, 2, 5],
    [1, 1, 1, 1, 1, 1],
  ],
  [
    [2, 3, 1, 4, 1, 5],
    [1, 1, 2, 1, 2, 1],
  ],
  [
    [1, 3, 1],
    [2, 1, 4],
  ],
  [[3, 4], []],
  [[], [3, 4]],
  [
    [1, 4, 1],
    [3, 4, 2],
  ],
  [[0, 4], [4]],
];

describe.skipIf(addon == null)("cpu elementwise fast paths vs stock kernels", () => {
  beforeAll(async () => {
    await tf.setBackend("cpu");
  });
  afterAll(() => {
    unregisterNativeKernels();
  });

  it("add, sub, mul, div with broadcasting agree exactly", () => {
    for (const [a, b] of pairs) {
      const err = compare(() => {
        const x = rand(a);
        const y = rand(b, 2); // away from 0 for div
        return [tf.add(x, y), tf.sub(x, y), tf.mul(x, y), tf.div(x, y), tf.sub(y, x), tf.div(y, x)];
      });
      expect(err, `${JSON.stringify(a)} op ${JSON.stringify(b)}`).toBe(0);
    }
  });

  it("sum and mean over any axes (keepDims or not) agree to float32 rounding", () => {
    const cases: [number[], number | number[] | null][] = [
      [
        [2, 3, 4, 5],
        [1, 2],
      ],
      [[2, 3, 4, 5], 0],
      [[2, 3, 4, 5], -1],
      [
        [2, 3, 4, 5],
        [0, 2],
      ],
      [
        [2, 3, 4, 5],
        [0, 1, 2],
      ],
      [[2, 3, 4, 5], null],
      [
        [4, 1, 3, 1, 5],
        [1, 3],
      ],
      [
        [6, 7],
        [0, 1],
      ],
    ];
    for (const [shape, axis] of cases) {
      const err = compare(() => {
        const x = rand(shape);
        const ax = axis ?? undefined;
        return [tf.sum(x, ax), tf.mean(x, ax), tf.sum(x, ax, true), tf.mean(x, ax, true)];
      });
      expect(err, `${JSON.stringify(shape)} axis ${JSON.stringify(axis)}`).toBeLessThan(1e-6);
    }
  });

  it("relu, step, neg, square, sqrt agree, and a second-order gradient matches stock", () => {
    const err = compare(() => {
      const x = rand([3, 5, 7]);
      return [tf.relu(x), tf.step(x, 0.3), tf.neg(x), tf.square(x), tf.sqrt(tf.abs(x)), tf.step(x)];
    });
    expect(err).toBe(0);
    // d/dw of ||d/dx sum(lrelu(x*w) * w)||^2: exercises Mul/Sum/Mean gradients through the fast paths.
    const gg = compare(() => {
      const x = rand([2, 4, 4, 3]);
      const w = rand([1, 1, 1, 3], 1);
      const f = (wv: tf.Tensor) => {
        const gx = tf.grad((xi: tf.Tensor) => {
          const h = tf.mul(xi, wv);
          return tf.sum(tf.mul(tf.add(tf.mul(h, 0.2), tf.mul(tf.relu(h), 0.8)), wv));
        })(x);
        return tf.mean(tf.square(gx));
      };
      return [tf.grad(f)(w)];
    });
    expect(gg).toBeLessThan(1e-6);
  });

  it("int32 inputs still go to the stock kernels", () => {
    registerNativeKernels();
    const r = tf.tidy(() => tf.mul(tf.tensor([1, 2, 3], [3], "int32"), tf.tensor([2], [1], "int32")));
    expect(r.dtype).toBe("int32");
    expect(Array.from(r.dataSync())).toEqual([2, 4, 6]);
    r.dispose();
  });
});
