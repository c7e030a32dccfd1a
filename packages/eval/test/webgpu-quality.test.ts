// The feature distance on the webgpu backend against cpu (moved from packages/ml/test/webgpu.test.ts with quality/).
// The webgpu half runs only where Dawn finds an adapter; elsewhere it is skipped and the reason printed.
import { Rng, startWebGpu, tf, type WebGpuStart } from "@synthmri/ml";
import { afterAll, beforeAll, expect, it } from "vitest";
import { featureFrechetDistance, featureFrechetDistanceAsync } from "../src/quality/index.js";

let start: WebGpuStart = { ok: false, reason: "not tried" };
beforeAll(async () => {
  start = await startWebGpu();
  if (!start.ok) console.log(`webgpu feature-distance check skipped: ${start.reason}`);
});
afterAll(async () => {
  await tf.setBackend("cpu");
});

function randn(n: number, seed: number): Float32Array {
  return new Rng(seed).fillNormal(new Float32Array(n));
}

it("the feature distance reads asynchronously: same value as the sync one on cpu, close to it on webgpu", async (ctx) => {
  const set = (seed: number) => ({ data: randn(6 * 16 * 16 * 4, seed), n: 6, h: 16, w: 16, c: 4 });
  await tf.setBackend("cpu");
  const want = featureFrechetDistance(set(1), set(2)).distance;
  expect((await featureFrechetDistanceAsync(set(1), set(2))).distance).toBe(want);
  if (!start.ok) ctx.skip();
  await tf.setBackend("webgpu");
  const got = (await featureFrechetDistanceAsync(set(1), set(2))).distance;
  await tf.setBackend("cpu");
  expect(Math.abs(got - want)).toBeLessThan(1e-3 * Math.abs(want) + 1e-6);
});
