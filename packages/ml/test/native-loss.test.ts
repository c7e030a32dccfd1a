// The fused CE + soft-Dice loss kernel against the stock op graph (unet/loss.ts ceDiceLossReference) and finite
// differences, at one and two threads, with a leak check. Skips when the addon is not built.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tf } from "../src/backend/tf.js";
import {
  ceDiceLossNative,
  loadNativeAddon,
  nativeCeDiceLossAvailable,
  registerNativeKernels,
  setNativeThreads,
  unregisterNativeKernels,
} from "../src/native/index.js";
import { ceDiceLoss, ceDiceLossReference } from "../src/unet/loss.js";
import { seeded } from "./native-compare.js";

const addon = loadNativeAddon();

function inputs(seed: number, shape: [number, number, number, number], soft = false): [tf.Tensor4D, tf.Tensor4D] {
  const next = seeded(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const c = shape[3];
  const logits = tf.tensor4d(
    Float32Array.from({ length: n }, () => 6 * next()),
    shape,
  );
  const g = new Float32Array(n);
  for (let i = 0; i < n; i += c) {
    if (soft) {
      let s = 0;
      for (let k = 0; k < c; k++) s += g[i + k] = next() + 0.5;
      for (let k = 0; k < c; k++) g[i + k] /= s;
    } else g[i + Math.floor((next() + 0.5) * c)] = 1;
  }
  return [logits, tf.tensor4d(g, shape)];
}

function lossAndGrad(f: (z: tf.Tensor4D, g: tf.Tensor4D) => tf.Scalar, z: tf.Tensor4D, g: tf.Tensor4D) {
  return tf.tidy(() => {
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => f(x as tf.Tensor4D, g))(z);
    return { loss: value.dataSync()[0], grad: (grad.dataSync() as Float32Array).slice() };
  });
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return worst / scale;
}

describe.skipIf(addon == null)("native fused CE + soft Dice loss", () => {
  let before = 0;
  beforeAll(async () => {
    await tf.setBackend("cpu");
    registerNativeKernels({ threads: 1 });
    before = tf.memory().numTensors;
  });
  afterAll(() => {
    expect(tf.memory().numTensors).toBe(before);
    unregisterNativeKernels();
  });

  const cases: [string, [number, number, number, number], boolean][] = [
    ["one-hot, 4 classes, several chunks", [3, 40, 50, 4], false],
    ["soft labels, 3 classes", [2, 9, 7, 3], true],
    ["2 classes, one pixel row", [1, 1, 5, 2], false],
  ];
  for (const [name, shape, soft] of cases) {
    it(`equals the stock op graph, loss and gradient: ${name} (1t and 2t)`, () => {
      expect(nativeCeDiceLossAvailable()).toBe(true);
      const [z, g] = inputs(shape[1] * 7 + shape[3], shape, soft);
      const ref = lossAndGrad(ceDiceLossReference, z, g);
      setNativeThreads(1);
      const one = lossAndGrad(ceDiceLoss, z, g);
      setNativeThreads(2);
      const two = lossAndGrad(ceDiceLoss, z, g);
      setNativeThreads(1);
      expect(Math.abs(one.loss - ref.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(ref.loss)));
      expect(maxRelDiff(one.grad, ref.grad)).toBeLessThan(1e-4);
      // Fixed pixel chunks: the thread count does not change a bit.
      expect(two.loss).toBe(one.loss);
      expect(Array.from(two.grad)).toEqual(Array.from(one.grad));
      tf.dispose([z, g]);
    });
  }

  it("gradient matches central finite differences of the fused loss", () => {
    const shape: [number, number, number, number] = [2, 5, 6, 4];
    const [z, g] = inputs(11, shape);
    const { grad } = lossAndGrad(ceDiceLoss, z, g);
    const zv = (z.dataSync() as Float32Array).slice();
    const h = 1e-2;
    const lossAt = (v: Float32Array) => tf.tidy(() => ceDiceLossNative(tf.tensor4d(v, shape), g, 1e-5).dataSync()[0]);
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < zv.length; i += 7) {
      const up = zv.slice();
      up[i] += h;
      const down = zv.slice();
      down[i] -= h;
      const fd = (lossAt(up) - lossAt(down)) / (2 * h);
      worst = Math.max(worst, Math.abs(fd - grad[i]));
      scale = Math.max(scale, Math.abs(grad[i]));
    }
    expect(worst / scale).toBeLessThan(2e-2);
    tf.dispose([z, g]);
  });
});
