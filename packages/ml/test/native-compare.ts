// Shared by the native-kernel tests: seeded inputs and one run of a graph on the stock kernels, then on the native
// ones. tfjs-core directly (not src/backend/tf.js) so the tests that import only tfjs-core keep their setup.
import * as tf from "@tensorflow/tfjs-core";
import { expect } from "vitest";
import { registerNativeKernels, unregisterNativeKernels } from "../src/native/index.js";

/** A seeded LCG in [-0.5, 0.5): the same inputs on every run and machine. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

export function rand(shape: number[], next: () => number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, next), shape);
}

export interface Output {
  shape: number[];
  values: Float32Array;
}

/**
 * f's outputs on the stock kernels, then on the native ones (values copied out, tensors freed); `beforeEach` runs
 * before each of the two runs (e.g. to reseed the inputs). Leaves the native kernels registered.
 */
export function stockThenNative(f: () => tf.Tensor[], beforeEach: () => void = () => {}): [Output[], Output[]] {
  const run = () => {
    beforeEach();
    return tf.tidy(f).map((t) => {
      const out = { shape: t.shape, values: (t.dataSync() as Float32Array).slice() };
      t.dispose();
      return out;
    });
  };
  unregisterNativeKernels();
  const ref = run();
  expect(registerNativeKernels()).toBe(true);
  return [ref, run()];
}

/** Max |got - ref| / (1 + max |ref|) over all outputs (per output scale); lengths must agree. */
export function maxRelativeError(ref: Output[], got: Output[]): number {
  let err = 0;
  ref.forEach((r, i) => {
    expect(got[i].values.length).toBe(r.values.length);
    let scale = 0;
    for (const v of r.values) scale = Math.max(scale, Math.abs(v));
    for (let j = 0; j < r.values.length; j++)
      err = Math.max(err, Math.abs(got[i].values[j] - r.values[j]) / (1 + scale));
  });
  return err;
}
