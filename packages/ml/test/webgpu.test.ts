// The webgpu backend (Dawn) against the cpu backend. Runs only where Dawn finds an adapter (a GPU with a Vulkan
// driver, or Mesa's lavapipe: see bench/README.md); elsewhere (CI) the kernel tests are skipped and the reason printed.
// The resolver's failure message is checked everywhere.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend, tf } from "../src/index.js";
import { startWebGpu, vulkanLoaderMissing, type WebGpuStart } from "../src/backend/webgpu.js";
import { flatDispatch, unregisterWebGpuKernels, registerWebGpuKernels } from "../src/kernels/webgpu/index.js";
import { benchUnetForward, benchUnetLoss, benchUnetTargets, buildBenchUnet } from "../src/nets/index.js";
import { Rng } from "../src/random/index.js";

let start: WebGpuStart = { ok: false, reason: "not tried" };
beforeAll(async () => {
  start = await startWebGpu();
  if (!start.ok) console.log(`webgpu kernel tests skipped: ${start.reason}`);
  else console.log(`webgpu adapter: ${start.adapter}`);
});
afterAll(async () => {
  await tf.setBackend("cpu");
});

function randn(n: number, seed: number): Float32Array {
  return new Rng(seed).fillNormal(new Float32Array(n));
}

/** Runs f on `backend` with fresh tensors from host arrays; returns every output as host arrays. */
async function on(backend: string, f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const outs = tf.tidy(f);
  const vals = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose(outs);
  return vals;
}

function maxRelErr(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 1e-6;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

describe("webgpu backend", () => {
  it("flatDispatch folds big grids under the 65535-workgroup limit and covers every invocation", () => {
    for (const size of [1, 64 * 65535, 64 * 65535 + 1, 4 * 128 * 128 * 288]) {
      const d = flatDispatch(size);
      expect(Math.max(...d)).toBeLessThanOrEqual(65535);
      expect(d[0] * d[1] * d[2] * 64).toBeGreaterThanOrEqual(size);
    }
  });

  it("says which piece is missing when it cannot start", () => {
    if (start.ok) return;
    const loader = vulkanLoaderMissing();
    expect(start.reason).toMatch(loader ? /libvulkan\.so\.1/ : /npm package|dawn\.node|adapter|webgpu backend/);
  });

  it("TF_BACKEND=webgpu starts it (naming the adapter) or fails with the missing piece", async () => {
    if (start.ok) {
      const info = await initBackend({ preferred: "webgpu" });
      expect(info.name).toBe("webgpu");
      expect(info.adapter).toBe(start.adapter);
    } else {
      await expect(initBackend({ preferred: "webgpu" })).rejects.toThrow(
        /compute backend webgpu is not available: .*(libvulkan|npm package|dawn\.node|adapter)/,
      );
    }
  });

  const cases: [string, number[], number[], number, "same" | "valid"][] = [
    ["3x3 stride 1 same", [2, 9, 7, 5], [3, 3, 5, 6], 1, "same"],
    ["3x3 stride 2 same (odd size)", [2, 9, 7, 4], [3, 3, 4, 8], 2, "same"],
    ["3x3 stride 2 same (even size)", [1, 16, 16, 3], [3, 3, 3, 5], 2, "same"],
    ["1x1 valid", [3, 6, 6, 7], [1, 1, 7, 4], 1, "valid"],
    ["3x3 valid", [1, 8, 10, 3], [3, 3, 3, 2], 1, "valid"],
  ];
  for (const [name, xs, ws, stride, pad] of cases) {
    it(`Conv2DBackpropFilter (im2col + matmul) matches cpu: ${name}`, async (ctx) => {
      if (!start.ok) ctx.skip();
      registerWebGpuKernels();
      const x = randn(
        xs.reduce((a, b) => a * b),
        1,
      );
      const info = tf.backend_util.computeConv2DInfo(xs as never, ws as never, stride, 1, pad);
      const dy = randn(
        info.outShape.reduce((a, b) => a * b),
        2,
      );
      const run = () => [
        tf
          .engine()
          .runKernel(
            tf.Conv2DBackpropFilter,
            { x: tf.tensor(x, xs), dy: tf.tensor(dy, info.outShape) },
            { strides: stride, pad, dataFormat: "NHWC", filterShape: ws },
          ) as tf.Tensor,
      ];
      const [want] = await on("cpu", run);
      const [got] = await on("webgpu", run);
      expect(maxRelErr(got, want)).toBeLessThan(1e-4);
    });
  }

  it("a bench-unet training step (batch 1, 32x32): loss and every weight gradient match cpu", async (ctx) => {
    if (!start.ok) ctx.skip();
    registerWebGpuKernels();
    const size = 32;
    const x = randn(size * size * 4, 3);
    const rng = new Rng(4);
    const labels = new Int32Array(size * size).map(() => rng.int(4));
    const step = () => {
      const s = buildBenchUnet(0);
      const targets = benchUnetTargets(labels, 1, size, size);
      const xt = tf.tensor4d(x, [1, size, size, 4]);
      const { value, grads } = s.valueAndGrads(() => benchUnetLoss(benchUnetForward(s, xt, true), targets));
      const names = ["enc0.a.w", "enc1.a.w", "enc4.b.w", "dec3.up.w", "dec0.b.w", "dec0.head.w", "enc2.a.gamma"];
      const out = [value, ...names.map((n) => grads[n])];
      s.dispose();
      return out;
    };
    const want = await on("cpu", step);
    const got = await on("webgpu", step);
    expect(Math.abs(got[0][0] - want[0][0])).toBeLessThan(1e-4 * Math.abs(want[0][0]) + 1e-5);
    for (let i = 1; i < want.length; i++) expect(maxRelErr(got[i], want[i]), `gradient ${i}`).toBeLessThan(2e-3);
  });

  it("the stock kernel can be put back (for comparisons)", (ctx) => {
    if (!start.ok) ctx.skip();
    registerWebGpuKernels();
    const ours = tf.getKernel(tf.Conv2DBackpropFilter, "webgpu")?.kernelFunc;
    unregisterWebGpuKernels();
    expect(tf.getKernel(tf.Conv2DBackpropFilter, "webgpu")?.kernelFunc).not.toBe(ours);
    registerWebGpuKernels();
    expect(tf.getKernel(tf.Conv2DBackpropFilter, "webgpu")?.kernelFunc).toBe(ours);
  });
});
