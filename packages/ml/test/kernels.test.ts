// Project kernels against tfjs' stock cpu kernels on random inputs, and conv gradients against
// finite differences. Stated tolerances: max |ours - stock| / max |stock| < 1e-5 (float32 sums of up
// to a few thousand terms in a different order); finite differences (h = 1e-2, float64 reference
// impossible in tfjs, so central differences in float32) agree within 2e-2 relative.
import { beforeAll, describe, expect, it } from "vitest";
import { Rng, tf } from "../src/index.js";

type Shape4 = [number, number, number, number];
type Case = { x: Shape4; f: Shape4; s: number; pad: "same" | "valid" | number };
const cases: Case[] = [
  { x: [2, 9, 8, 3], f: [3, 3, 3, 4], s: 1, pad: "same" },
  { x: [2, 8, 8, 3], f: [3, 3, 3, 5], s: 2, pad: "same" },
  { x: [1, 9, 7, 2], f: [3, 3, 2, 3], s: 2, pad: 1 },
  { x: [2, 6, 6, 4], f: [1, 1, 4, 2], s: 1, pad: "valid" },
  { x: [1, 7, 7, 2], f: [3, 3, 2, 2], s: 1, pad: "valid" },
];

function randArray(n: number, seed: number): Float32Array {
  return new Rng(seed).fillNormal(new Float32Array(n));
}
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const padArg = (p: Case["pad"]) =>
  typeof p === "number"
    ? ([
        [0, 0],
        [p, p],
        [p, p],
        [0, 0],
      ] as [[number, number], [number, number], [number, number], [number, number]])
    : p;

/** The stock cpu kernels, captured before the project replaced them (vitest isolates module state per file). */
let stockFilter: (a: unknown) => unknown;
let stockInput: (a: unknown) => unknown;

async function runOn(
  backend: string,
  c: Case,
  seed: number,
): Promise<{ dw: Float32Array; dx: Float32Array; dyShape: number[] }> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor(randArray(size(c.x), seed), c.x) as tf.Tensor4D;
    const w = tf.tensor(randArray(size(c.f), seed + 1), c.f) as tf.Tensor4D;
    const y = tf.conv2d(x, w, c.s, padArg(c.pad));
    const dy = tf.tensor(randArray(y.size, seed + 2), y.shape) as tf.Tensor4D;
    const dw = tf
      .engine()
      .runKernel(
        tf.Conv2DBackpropFilter,
        { x, dy },
        { strides: c.s, pad: padArg(c.pad), dataFormat: "NHWC", filterShape: c.f },
      );
    const dx = tf
      .engine()
      .runKernel(
        tf.Conv2DBackpropInput,
        { dy, filter: w },
        { strides: c.s, pad: padArg(c.pad), dataFormat: "NHWC", inputShape: c.x },
      );
    return {
      dw: (dw as tf.Tensor).dataSync() as Float32Array,
      dx: (dx as tf.Tensor).dataSync() as Float32Array,
      dyShape: y.shape,
    };
  });
}

function stockOnCpu(c: Case, seed: number, dyShape: number[]): { dw: Float32Array; dx: Float32Array } {
  const backend = tf.findBackend("cpu");
  const x = tf.tensor(randArray(size(c.x), seed), c.x);
  const w = tf.tensor(randArray(size(c.f), seed + 1), c.f);
  const dy = tf.tensor(randArray(size(dyShape), seed + 2), dyShape);
  const attrs = { strides: c.s, pad: padArg(c.pad), dataFormat: "NHWC", dimRoundingMode: undefined };
  const dwInfo = stockFilter({ inputs: { x, dy }, backend, attrs: { ...attrs, filterShape: c.f } }) as {
    dataId: object;
  };
  const dxInfo = stockInput({ inputs: { dy, filter: w }, backend, attrs: { ...attrs, inputShape: c.x } }) as {
    dataId: object;
  };
  const dw = backend.readSync(dwInfo.dataId) as Float32Array;
  const dx = backend.readSync(dxInfo.dataId) as Float32Array;
  backend.disposeData(dwInfo.dataId);
  backend.disposeData(dxInfo.dataId);
  tf.dispose([x, w, dy]);
  return { dw, dx };
}

function relErr(a: Float32Array, b: Float32Array): number {
  let m = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return m / s;
}

beforeAll(async () => {
  // Stock kernels live in tfjs-backend-cpu's exported configs, untouched by our registry changes.
  const mod = (await import("@tensorflow/tfjs-backend-cpu/dist/kernels/Conv2DBackpropFilter.js")) as {
    conv2DBackpropFilterConfig: { kernelFunc: (a: unknown) => unknown };
  };
  const modI = (await import("@tensorflow/tfjs-backend-cpu/dist/kernels/Conv2DBackpropInput.js")) as {
    conv2DBackpropInputConfig: { kernelFunc: (a: unknown) => unknown };
  };
  stockFilter = mod.conv2DBackpropFilterConfig.kernelFunc;
  stockInput = modI.conv2DBackpropInputConfig.kernelFunc;
});

describe("conv backprop kernels vs stock cpu", () => {
  for (const backend of ["cpu", "wasm"]) {
    it(`${backend}: Conv2DBackpropFilter and Conv2DBackpropInput match within 1e-5 relative`, async () => {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      let worst = 0;
      for (const [i, c] of cases.entries()) {
        const ours = await runOn(backend, c, 10 * i + 1);
        await tf.setBackend("cpu");
        const ref = stockOnCpu(c, 10 * i + 1, ours.dyShape);
        worst = Math.max(worst, relErr(ours.dw, ref.dw), relErr(ours.dx, ref.dx));
        await tf.setBackend(backend);
      }
      expect(worst).toBeLessThan(1e-5);
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});

describe("conv gradients vs finite differences", () => {
  for (const backend of ["cpu", "wasm"]) {
    it(`${backend}: d/dw and d/dx of sum(conv(x,w)^2) agree within 2e-2 relative`, async () => {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      for (const c of [cases[1], cases[2]]) {
        const xs = randArray(size(c.x), 5);
        const ws = randArray(size(c.f), 6);
        const loss = (xa: Float32Array, wa: Float32Array) =>
          tf.tidy(
            () =>
              tf
                .sum(
                  tf.square(
                    tf.conv2d(tf.tensor(xa, c.x) as tf.Tensor4D, tf.tensor(wa, c.f) as tf.Tensor4D, c.s, padArg(c.pad)),
                  ),
                )
                .dataSync()[0],
          );
        const [gx, gw] = tf.tidy(() => {
          const g = tf.grads((x: tf.Tensor, w: tf.Tensor) =>
            tf.sum(tf.square(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, padArg(c.pad)))),
          );
          return g([tf.tensor(xs, c.x), tf.tensor(ws, c.f)]).map((t) => t.dataSync() as Float32Array);
        });
        const h = 1e-2;
        const check = (arr: Float32Array, grad: Float32Array, which: "x" | "w") => {
          let maxG = 0;
          for (const v of grad) maxG = Math.max(maxG, Math.abs(v));
          for (const idx of [0, 7, arr.length - 1, Math.floor(arr.length / 2)]) {
            const plus = arr.slice();
            const minus = arr.slice();
            plus[idx] += h;
            minus[idx] -= h;
            const fd =
              which === "x"
                ? (loss(plus, ws) - loss(minus, ws)) / (2 * h)
                : (loss(xs, plus) - loss(xs, minus)) / (2 * h);
            expect(Math.abs(fd - grad[idx]) / maxG).toBeLessThan(2e-2);
          }
        };
        check(xs, gx, "x");
        check(ws, gw, "w");
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
