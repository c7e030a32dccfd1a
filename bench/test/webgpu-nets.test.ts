// A bench-unet training step on the webgpu backend against cpu (moved from packages/ml/test/webgpu.test.ts with the
// bench nets), and a bench-gan D and G step: the project's webgpu kernels, which startWebGpu registers, over a whole U-Net step. Runs only where
// Dawn finds an adapter; elsewhere it is skipped and the reason printed.
import { meanSoftplus, Rng, startWebGpu, tf, type WebGpuStart } from "@synthmri/ml";
import { afterAll, beforeAll, expect, it } from "vitest";
import { maxRelErr, on, randn } from "../../packages/ml/test/webgpu-fixtures.js";
import {
  benchDiscriminator,
  benchGenerator,
  benchUnetForward,
  benchUnetLoss,
  benchUnetTargets,
  buildBenchDiscriminator,
  buildBenchGenerator,
  buildBenchUnet,
} from "../src/nets/index.js";

let start: WebGpuStart = { ok: false, reason: "not tried" };
beforeAll(async () => {
  start = await startWebGpu();
  if (!start.ok) console.log(`webgpu bench-unet check skipped: ${start.reason}`);
});
afterAll(async () => {
  await tf.setBackend("cpu");
});


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


it("a bench-gan D and G step (batch 1): losses and weight gradients match cpu (fused bias+leaky(+pool), bias+tanh, softplus loss)", async (ctx) => {
  if (!start.ok) ctx.skip();
  // Batch 1: tfjs-backend-cpu's ResizeNearestNeighborGrad (G's upsampling backward) is wrong from the second sample on
  // (webgpu's matches the 2x2 block sums), so cpu is a reference for G's deeper gradients only at batch 1.
  const B = 1;
  const real = randn(B * 64 * 64 * 5, 5).map((v) => Math.tanh(v));
  const z = randn(B * 128, 6);
  const step = () => {
    const g = buildBenchGenerator(0);
    const d = buildBenchDiscriminator(1);
    const x = tf.tensor4d(real, [B, 64, 64, 5]);
    const zt = tf.tensor2d(z, [B, 128]);
    const fake = benchGenerator(g, zt);
    const dStep = d.valueAndGrads(() =>
      tf.add(meanSoftplus(benchDiscriminator(d, x), -1), meanSoftplus(benchDiscriminator(d, fake), 1)) as tf.Scalar,
    );
    const gStep = g.valueAndGrads(() => meanSoftplus(benchDiscriminator(d, benchGenerator(g, zt)), -1));
    const out = [
      dStep.value,
      gStep.value,
      ...["in.w", "in.b", "down0.w", "down3.b", "fc.w"].map((n) => dStep.grads[n]),
      ...["fc.w", "fc.b", "up0.w", "up3.b", "out.w", "out.b"].map((n) => gStep.grads[n]),
    ];
    g.dispose();
    d.dispose();
    return out;
  };
  const want = await on("cpu", step);
  const got = await on("webgpu", step);
  for (const i of [0, 1]) expect(Math.abs(got[i][0] - want[i][0]), `loss ${i}`).toBeLessThan(1e-4 * Math.abs(want[i][0]));
  for (let i = 2; i < want.length; i++) expect(maxRelErr(got[i], want[i]), `gradient ${i}`).toBeLessThan(2e-3);
}, 300_000);
