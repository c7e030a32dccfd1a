// A bench-unet training step on the webgpu backend against cpu (moved from packages/ml/test/webgpu.test.ts with the
// bench nets): the project's webgpu kernels, which startWebGpu registers, over a whole U-Net step. Runs only where
// Dawn finds an adapter; elsewhere it is skipped and the reason printed.
import { Rng, startWebGpu, tf, type WebGpuStart } from "@synthmri/ml";
import { afterAll, beforeAll, expect, it } from "vitest";
import { benchUnetForward, benchUnetLoss, benchUnetTargets, buildBenchUnet } from "../src/nets/index.js";

let start: WebGpuStart = { ok: false, reason: "not tried" };
beforeAll(async () => {
  start = await startWebGpu();
  if (!start.ok) console.log(`webgpu bench-unet check skipped: ${start.reason}`);
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

it("a bench-unet training step (batch 1, 32x32): loss and every weight gradient match cpu", async (ctx) => {
  if (!start.ok) ctx.skip();
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

