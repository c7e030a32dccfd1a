// The native 2x2 average pool (two adjoint kernels, gradients of any order) and bias + tanh (first order) on cpu,
// against the stock op graphs they replace (reshape + mean; add + tanh), a finite difference, and for leaks. Skips when
// the addon is not built (or is older than these kernels).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tf } from "../src/backend/tf.js";
import { biasLeakyReluAvgPool2x2 } from "../src/layers/bias-leaky-pool.js";
import { avgPool2x2, biasTanh, conv2d, leakyRelu } from "../src/layers/ops.js";
import {
  avgPool2x2Native,
  biasLeakyRelu,
  biasLeakyReluPool2x2Native,
  biasTanhNative,
  loadNativeAddon,
  registerNativeKernels,
  unregisterNativeKernels,
} from "../src/native/index.js";
import { maxRelativeError, rand, seeded, stockThenNative } from "./native-compare.js";

const addon = loadNativeAddon();
const fresh = addon?.pool2x2 != null && addon.biasTanh != null && addon.biasLeakyPool != null;

describe.skipIf(!fresh)("native 2x2 average pool and bias + tanh (cpu)", () => {
  let before = 0;
  beforeAll(async () => {
    await tf.setBackend("cpu");
    before = tf.memory().numTensors;
  });
  afterAll(() => {
    unregisterNativeKernels();
    expect(tf.memory().numTensors).toBe(before);
  });

  for (const threads of [1, 2]) {
    it(`avgPool2x2: forward, gradient and a WGAN-GP second-order gradient match the reshape + mean graph (${threads}t)`, () => {
      expect(registerNativeKernels({ threads })).toBe(true);
      const next = seeded(5 + threads);
      const x = rand([3, 6, 10, 4], next) as tf.Tensor4D;
      const w = rand([3, 3, 4, 5], next) as tf.Tensor4D;
      const big = rand([16, 64, 64, 32], next) as tf.Tensor4D;
      const gy = rand([3, 3, 5, 5], next);
      // D(x) = sum(pool(leaky(conv(x, w))) * gy); the penalty ||dD/dx||^2 differentiated by w is second order through
      // the pool (its gradient's gradient).
      const d = (xi: tf.Tensor, wi: tf.Tensor) =>
        tf.sum(tf.mul(avgPool2x2(leakyRelu(conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, null))), gy));
      const penalty = (wi: tf.Tensor) => tf.sum(tf.square(tf.grad((xi: tf.Tensor) => d(xi, wi))(x)));
      let used = false;
      const [ref, got] = stockThenNative(() => {
        const native = avgPool2x2Native(x);
        used = native != null;
        native?.dispose();
        return [avgPool2x2(big), ...tf.grads((xi: tf.Tensor, wi: tf.Tensor) => d(xi, wi))([x, w]), tf.grad(penalty)(w)];
      });
      expect(used, "the native pool ran in the second pass").toBe(true);
      expect(maxRelativeError(ref, got)).toBeLessThan(2e-6);
      tf.dispose([x, w, big, gy]);
    }, 120_000);

    it(`bias + tanh: forward and first-order gradients match tanh(x + b) (${threads}t)`, () => {
      expect(registerNativeKernels({ threads })).toBe(true);
      const next = seeded(17 + threads);
      for (const shape of [
        [16, 64, 64, 5],
        [3, 7, 9, 4],
      ]) {
        const x = tf.tidy(() => tf.mul(rand(shape, next), 6)); // the flat tails of tanh too
        const b = rand([shape[shape.length - 1]], next) as tf.Tensor1D;
        const gy = rand(shape, next);
        const loss = (xi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(biasTanh(xi, bi as tf.Tensor1D), gy));
        const [ref, got] = stockThenNative(() => [biasTanh(x, b), ...tf.grads(loss)([x, b])]);
        expect(maxRelativeError(ref, got)).toBeLessThan(1e-6);
        tf.dispose([x, b, gy]);
      }
      const probe = tf.zeros([2, 3]);
      const bias = tf.zeros([3]) as tf.Tensor1D;
      const native = biasTanhNative(probe, bias);
      expect(native, "the native kernel is in use").not.toBeNull();
      tf.dispose([probe, bias, native as tf.Tensor]);
    }, 120_000);
  }

  for (const threads of [1, 2]) {
    it(`bias + leaky + pool fused: equal to the unfused native kernels bit for bit, close to stock (${threads}t)`, () => {
      expect(registerNativeKernels({ threads })).toBe(true);
      const next = seeded(23 + threads);
      for (const shape of [
        [4, 64, 64, 32], // 16 row chunks for the bias gradient
        [3, 6, 10, 7],
      ]) {
        const x = rand(shape, next) as tf.Tensor4D;
        const b = rand([shape[3]], next) as tf.Tensor1D;
        const gy = rand([shape[0], shape[1] / 2, shape[2] / 2, shape[3]], next);
        type Block = (xi: tf.Tensor4D, bi: tf.Tensor1D) => tf.Tensor4D;
        const run = (f: Block) =>
          tf.tidy(() => {
            const loss = (xi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(f(xi as tf.Tensor4D, bi as tf.Tensor1D), gy));
            return [f(x, b), ...tf.grads(loss)([x, b])].map((t) => ({
              shape: t.shape,
              values: (t.dataSync() as Float32Array).slice(),
            }));
          });
        const unfused = run((xi, bi) => avgPool2x2(biasLeakyRelu(xi, bi, 0.2)));
        let used = false;
        const fused = run((xi, bi) => {
          const y = biasLeakyReluPool2x2Native(xi, bi, 0.2);
          used = y != null;
          return y ?? xi;
        });
        expect(used, "the fused kernel ran").toBe(true);
        unfused.forEach((u, i) => {
          let diffs = 0;
          for (let j = 0; j < u.values.length; j++) if (!Object.is(u.values[j], fused[i].values[j])) diffs++;
          expect(diffs, `output ${i}: ${diffs} of ${u.values.length} values differ`).toBe(0);
        });
        // The layers op picks the fused kernel; against stock leakyRelu + reshape/mean on stock kernels (the small shape
        // only: the stock broadcast gradients over 2M values take ~10 s).
        if (shape[0] !== 3) {
          tf.dispose([x, b, gy]);
          continue;
        }
        const [ref, got] = stockThenNative(() => {
          const loss = (xi: tf.Tensor, bi: tf.Tensor) =>
            tf.sum(tf.mul(biasLeakyReluAvgPool2x2(xi as tf.Tensor4D, bi as tf.Tensor1D, 0.2), gy));
          return [biasLeakyReluAvgPool2x2(x, b, 0.2), ...tf.grads(loss)([x, b])];
        });
        expect(maxRelativeError(ref, got)).toBeLessThan(1e-5);
        tf.dispose([x, b, gy]);
      }
    }, 120_000);
  }

  it("the pool's gradient matches a central finite difference", () => {
    expect(registerNativeKernels({ threads: 2 })).toBe(true);
    const next = seeded(99);
    const x = tf.tidy(() => tf.variable(rand([2, 4, 6, 3], next), true));
    const gy = rand([2, 2, 3, 3], next);
    const f = () => tf.sum(tf.mul(tf.square(avgPool2x2(x as unknown as tf.Tensor4D)), gy)) as tf.Scalar;
    const { value, grads } = tf.variableGrads(f, [x]);
    const g = grads[x.name].dataSync();
    const xv = x.dataSync().slice();
    const h = 1e-2;
    for (const i of [0, 7, 40, 143]) {
      const at = (v: number) => {
        const copy = xv.slice();
        copy[i] = v;
        return tf.tidy(() => {
          x.assign(tf.tensor(copy, x.shape));
          return f().dataSync()[0];
        });
      };
      const fd = (at(xv[i] + h) - at(xv[i] - h)) / (2 * h);
      expect(Math.abs(fd - g[i])).toBeLessThan(1e-3);
    }
    tf.dispose([x, gy, value, grads[x.name]]);
  });
});
