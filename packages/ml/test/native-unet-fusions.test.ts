// The U-Net's first-order fusions on cpu with the native kernels (issue 18): conv + bias as one FusedConv2D and the
// 2x2 transposed conv + bias as one kernel each way must give the same bits as the unfused op graphs they replace on
// the same native kernels (conv2d + Add; matMul + pixel shuffle + Add), forward and gradients, and leak nothing.
// Skips when the addon is not built.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tf } from "../src/backend/tf.js";
import { conv2d, conv2dFirstOrder, convTranspose2x2 } from "../src/layers/ops.js";
import { loadNativeAddon, registerNativeKernels, unregisterNativeKernels } from "../src/native/index.js";
import { rand, seeded } from "./native-compare.js";

const addon = loadNativeAddon();

/** layers/ops.ts convTranspose2x2's op graph (its fallback), the reference of the fused kernels. */
function convTransposeGraph(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D): tf.Tensor4D {
  return tf.tidy(() => {
    const [B, H, W, cin] = x.shape;
    const cout = w.shape[2];
    const wm = tf.reshape(tf.transpose(w, [3, 0, 1, 2]), [cin, 4 * cout]) as tf.Tensor2D;
    const y = tf.matMul(tf.reshape(x, [B * H * W, cin]) as tf.Tensor2D, wm);
    const shuffled = tf.transpose(tf.reshape(y, [B, H, W, 2, 2, cout]), [0, 1, 3, 2, 4, 5]);
    return tf.add(tf.reshape(shuffled, [B, 2 * H, 2 * W, cout]), b) as tf.Tensor4D;
  });
}

/** The kernels f runs (forward and gradient). */
async function kernelsOf(f: () => tf.Tensor[]): Promise<string[]> {
  const info = await tf.profile(() => tf.dispose(f()));
  return info.kernelNames;
}

function values(ts: tf.Tensor[]): Float32Array[] {
  return ts.map((t) => (t.dataSync() as Float32Array).slice());
}

describe.skipIf(addon == null)("U-Net fusions on native cpu", () => {
  let before = 0;
  beforeAll(async () => {
    await tf.setBackend("cpu");
    before = tf.memory().numTensors;
  });
  afterAll(() => {
    unregisterNativeKernels();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("the fused kernels run (FusedConv2D, the transposed-conv pair) instead of the graphs", async () => {
    expect(registerNativeKernels({ threads: 1 })).toBe(true);
    const next = seeded(3);
    const x = rand([1, 4, 4, 4], next) as tf.Tensor4D;
    const w = rand([2, 2, 2, 4], next) as tf.Tensor4D;
    const w3 = rand([3, 3, 4, 2], next) as tf.Tensor4D;
    const b = rand([2], next) as tf.Tensor1D;
    const names = await kernelsOf(() =>
      tf.grads((xi: tf.Tensor) =>
        tf.add(
          tf.sum(convTranspose2x2(xi as tf.Tensor4D, w, b)),
          tf.sum(conv2dFirstOrder(xi as tf.Tensor4D, w3, b, 1, "same")),
        ),
      )([x]),
    );
    expect(names).toContain("FusedConv2D");
    expect(names).toContain("SynthmriConvTranspose2x2");
    expect(names).toContain("SynthmriConvTranspose2x2Grad");
    expect(names).not.toContain("BatchMatMul");
    tf.dispose([x, w, w3, b]);
  });

  for (const threads of [1, 2]) {
    it(`convTranspose2x2: forward and gradients bit-identical to matMul + shuffle + Add (${threads}t)`, () => {
      expect(registerNativeKernels({ threads })).toBe(true);
      const next = seeded(41 + threads);
      // bench-unet's dec3 channels, dec0's at a smaller size, and a small odd one.
      const cases: [number[], number][] = [
        [[1, 8, 8, 256], 128],
        [[1, 32, 32, 32], 16],
        [[3, 5, 3, 6], 5],
      ];
      for (const [xs, cout] of cases) {
        const x = rand(xs, next) as tf.Tensor4D;
        const w = rand([2, 2, cout, xs[3]], next) as tf.Tensor4D;
        const b = rand([cout], next) as tf.Tensor1D;
        const run = (f: typeof convTransposeGraph) =>
          tf.tidy(() => {
            const y = f(x, w, b);
            const gy = rand(y.shape, seeded(7));
            const g = tf.grads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
              tf.sum(tf.mul(f(xi as tf.Tensor4D, wi as tf.Tensor4D, bi as tf.Tensor1D), gy)),
            )([x, w, b]);
            return values([y, ...g]);
          });
        const before = tf.memory().numTensors;
        const got = run(convTranspose2x2);
        expect(tf.memory().numTensors).toBe(before);
        const ref = run(convTransposeGraph);
        got.forEach((v, i) => {
          expect(v, `${xs} output ${i}`).toEqual(ref[i]);
        });
        tf.dispose([x, w, b]);
      }
    }, 60_000);

    it(`conv2dFirstOrder: forward and gradients bit-identical to conv2d + Add (${threads}t)`, () => {
      expect(registerNativeKernels({ threads })).toBe(true);
      const next = seeded(31 + threads);
      const cases: [number[], number[], number, "same" | "valid"][] = [
        [[2, 16, 16, 4], [3, 3, 4, 8], 1, "same"],
        [[2, 16, 16, 8], [3, 3, 8, 16], 2, "same"],
        [[2, 8, 8, 16], [1, 1, 16, 4], 1, "valid"],
      ];
      for (const [xs, ws, stride, pad] of cases) {
        const x = rand(xs, next) as tf.Tensor4D;
        const w = rand(ws, next) as tf.Tensor4D;
        const b = rand([ws[3]], next) as tf.Tensor1D;
        const run = (f: typeof conv2d) =>
          tf.tidy(() => {
            const y = f(x, w, b, stride, pad);
            const gy = tf.tidy(() => tf.sin(tf.mul(tf.onesLike(y), tf.range(0, y.size).reshape(y.shape))));
            const g = tf.grads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
              tf.sum(tf.mul(f(xi as tf.Tensor4D, wi as tf.Tensor4D, bi as tf.Tensor1D, stride, pad), gy)),
            )([x, w, b]);
            return values([y, ...g]);
          });
        const before = tf.memory().numTensors;
        const got = run(conv2dFirstOrder);
        expect(tf.memory().numTensors).toBe(before);
        const ref = run(conv2d);
        got.forEach((v, i) => {
          expect(v, `${xs} output ${i}`).toEqual(ref[i]);
        });
        tf.dispose([x, w, b]);
      }
    }, 60_000);
  }
});
