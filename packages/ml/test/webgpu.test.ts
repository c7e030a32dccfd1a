// The webgpu backend (Dawn) against the cpu backend. Runs only where Dawn finds an adapter (a GPU with a Vulkan
// driver, or Mesa's lavapipe: see bench/README.md); elsewhere (CI) the kernel tests are skipped and the reason printed.
// The resolver's failure message is checked everywhere.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  arraySegSource,
  decodeTrainState,
  defaultGanConfig,
  diffGpuCounts,
  gpuCounts,
  encodeTrainState,
  type GanModel,
  initBackend,
  type SegTrainState,
  sampleAsync,
  segmentSlices,
  tf,
  trainGan,
  trainSegmenter,
} from "../src/index.js";
import { startWebGpu, vulkanLoaderMissing, type WebGpuStart } from "../src/backend/webgpu.js";
import { flatDispatch, unregisterWebGpuKernels, registerWebGpuKernels } from "../src/kernels/webgpu/index.js";
import { Rng } from "../src/random/index.js";
import { blobSlices } from "./gan-fixtures.js";
import { discSample } from "./seg-fixtures.js";
import { maxRelErr, on, randn } from "./webgpu-fixtures.js";

let start: WebGpuStart = { ok: false, reason: "not tried" };
beforeAll(async () => {
  start = await startWebGpu();
  if (!start.ok) console.log(`webgpu kernel tests skipped: ${start.reason}`);
  else console.log(`webgpu adapter: ${start.adapter}`);
});
afterAll(async () => {
  await tf.setBackend("cpu");
});

describe("webgpu backend", () => {
  it("flatDispatch folds big grids under the 65535-workgroup limit and covers every invocation", () => {
    for (const size of [1, 64 * 65535, 64 * 65535 + 1, 4 * 128 * 128 * 288]) {
      const d = flatDispatch(size);
      expect(Math.max(...d)).toBeLessThanOrEqual(65535);
      expect(d[0] * d[1] * d[2] * 64).toBeGreaterThanOrEqual(size);
    }
  });

  // CI sets SYNTHMRI_REQUIRE_WEBGPU=1 after scripts/setup-lavapipe.sh: there a missing adapter is a failure, not a skip.
  it("finds an adapter where SYNTHMRI_REQUIRE_WEBGPU=1 (CI runs these tests on lavapipe)", () => {
    if (process.env.SYNTHMRI_REQUIRE_WEBGPU !== "1") return;
    expect(start.ok ? "ok" : start.reason).toBe("ok");
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
    it(`Conv2DBackpropFilter (im2col + matmul; implicit GEMM) matches cpu: ${name}`, async (ctx) => {
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
      // The opt-in one-dispatch implicit GEMM (SYNTHMRI_WEBGPU_FILTER_GRAD=direct), same tolerance.
      process.env.SYNTHMRI_WEBGPU_FILTER_GRAD = "direct";
      try {
        const [direct] = await on("webgpu", run);
        expect(maxRelErr(direct, want), "direct").toBeLessThan(1e-4);
      } finally {
        delete process.env.SYNTHMRI_WEBGPU_FILTER_GRAD;
      }
    });
  }

  it("counts dispatches, buffers and readback bytes of the device (issue 15: bench rows' counters)", async (ctx) => {
    if (!start.ok) ctx.skip();
    await tf.setBackend("webgpu");
    // Above tfjs' CPU hand-off threshold (small inputs of CPU-resident tensors run on the CPU, not the device).
    const x = tf.tensor1d(new Float32Array(1 << 14).fill(1));
    const run = async () => {
      const y = tf.tidy(() => tf.sum(tf.mul(tf.add(x, 1), 2)));
      const v = (await y.data())[0];
      y.dispose();
      return v;
    };
    await run(); // warm-up: pipelines, pool
    const a = gpuCounts();
    expect(await run()).toBe(4 << 14);
    const d = diffGpuCounts(a, gpuCounts());
    expect(d.dispatches).toBeGreaterThanOrEqual(2); // add+mul (maybe fused) and the sum
    expect(d.readbackBytes).toBe(4); // one float32 scalar
    expect(d.submits).toBeGreaterThanOrEqual(1);
    expect(d.buffersCreated).toBeGreaterThanOrEqual(0);
    x.dispose();
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

/** Every weight of a GAN (read asynchronously, so on any backend). */
async function ganWeights(m: GanModel): Promise<Float32Array[]> {
  const st = await m.stateAsync();
  return [...st.generator, ...st.discriminator].map((a) => a.data);
}

// The product's own loops (not the bench nets) on webgpu: they read only asynchronously, so TF_BACKEND=webgpu
// runs the services' jobs. Same seed on cpu and webgpu: the host-side Rng streams are identical, so the results
// differ only by float rounding of the device's kernels.
describe("product training and inference on webgpu", () => {
  it("trainSegmenter (checkpoints, validation) and segmentSlices agree with cpu", async (ctx) => {
    if (!start.ok) ctx.skip();
    const rng = new Rng(42);
    const train = arraySegSource(Array.from({ length: 12 }, () => discSample(rng)));
    const validation = arraySegSource(Array.from({ length: 4 }, () => discSample(rng)));
    const probe = await validation.get(0);
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const losses: number[] = [];
      let saved: Uint8Array | null = null;
      const res = await trainSegmenter({
        config: {
          unet: { inChannels: 4, numClasses: 4, widths: [4, 8, 16], deepSupervisionHeads: 2 },
          batchSize: 4,
          iterationsPerEpoch: 2,
          epochs: 1,
          lr: 0.01,
          // Small enough that every step clips: the global gradient norm (a sum over ~40 tensors) must be right.
          gradClipNorm: 0.05,
          checkpointEveryIterations: 1,
          augmentation: { enabled: false },
        },
        data: { train: [train], validation },
        seed: 5,
        checkpoint: {
          async save(st: SegTrainState) {
            saved = encodeTrainState(st);
          },
          async load() {
            return null;
          },
        },
        onProgress: (p) => {
          if (p.kind === "iteration") losses.push(p.loss);
        },
      });
      const seg = await segmentSlices(
        res.model,
        { data: probe.image, n: 1, height: 16, width: 16, channels: 4 },
        { tta: "flip", probabilities: true },
      );
      const weights = await Promise.all(res.model.params.variables().map((v) => v.data() as Promise<Float32Array>));
      res.model.dispose();
      return { losses, weights, seg, dice: res.history.map((h) => h.validation?.mean ?? Number.NaN), saved };
    };
    const before = tf.memory().numTensors;
    const want = await run("cpu");
    const got = await run("webgpu");
    expect(tf.memory().numTensors).toBe(before);
    expect(got.losses.length).toBe(2);
    for (let i = 0; i < 2; i++) expect(Math.abs(got.losses[i] - want.losses[i])).toBeLessThan(1e-3 * want.losses[i]);
    for (let i = 0; i < want.weights.length; i++)
      expect(maxRelErr(got.weights[i], want.weights[i]), `weight ${i}`).toBeLessThan(2e-3);
    expect(got.dice.length).toBe(1);
    expect(Math.abs(got.dice[0] - want.dice[0])).toBeLessThan(0.02);
    expect(maxRelErr(got.seg.probabilities as Float32Array, want.seg.probabilities as Float32Array)).toBeLessThan(1e-3);
    // The checkpoint written on webgpu is a complete state (weights and optimizer slots were readable).
    const st = decodeTrainState(got.saved as unknown as Uint8Array);
    expect(st.iteration).toBe(2);
    expect(st.optimizer.index.entries.length).toBeGreaterThan(0);
  });

  it("trainGan (wgan-gp, fade-in, checkpoints, quality hook) and sampling agree with cpu", async (ctx) => {
    if (!start.ok) ctx.skip();
    const { source } = blobSlices(16, 8, 2);
    const config = defaultGanConfig({ family: "pgan", resolution: 8, latentSize: 8, fmapBase: 16, fmapMax: 8 });
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      let saves = 0;
      const losses: number[] = [];
      const res = await trainGan({
        config,
        data: source,
        seed: 11,
        schedule: { stabiliseImages: 8, fadeImages: 8, totalImages: 16, batchSizes: [4] },
        checkpointEveryKimg: 0.008,
        checkpoint: { save: () => void saves++, load: () => undefined },
        quality: {
          // Any QualityFn that reads asynchronously (the Laplacian SWD lives in @synthmri/eval, which ml may not import).
          fn: async (fake, real) => {
            const d = tf.tidy(() => tf.mean(tf.abs(tf.sub(tf.mean(fake, 0), tf.mean(real, 0)))));
            const v = (await d.data())[0];
            d.dispose();
            return v;
          },
          everyKimg: 0.012,
          samples: 8,
        },
        onProgress: (p) => losses.push(p.losses.d, p.losses.g, p.losses.gp ?? Number.NaN),
      });
      const samples = await sampleAsync(res.model, 6, 3, { batchSize: 4 });
      const weights = await ganWeights(res.model);
      res.model.dispose();
      return { losses, weights, samples, saves, quality: res.quality.map((q) => q.value) };
    };
    const before = tf.memory().numTensors;
    const want = await run("cpu");
    const got = await run("webgpu");
    expect(tf.memory().numTensors).toBe(before);
    expect(got.saves).toBe(want.saves);
    expect(got.losses.length).toBe(want.losses.length);
    const scale = Math.max(...want.losses.map(Math.abs));
    for (let i = 0; i < want.losses.length; i++)
      expect(Math.abs(got.losses[i] - want.losses[i]), `loss ${i}`).toBeLessThan(1e-3 * scale + 1e-4);
    for (let i = 0; i < want.weights.length; i++)
      expect(maxRelErr(got.weights[i], want.weights[i]), `weight ${i}`).toBeLessThan(2e-3);
    expect(got.quality.length).toBe(want.quality.length);
    expect(maxRelErr(got.samples.images, want.samples.images)).toBeLessThan(2e-3);
  });
});
