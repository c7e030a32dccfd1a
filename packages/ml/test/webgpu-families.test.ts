// The generator families (issues 21, 22) on the webgpu backend against the cpu backend: one train step of each
// (StyleGAN2's first step includes the lazy R1 and path-length terms with their second-order gradients) and a short
// run of a few steps, from the same seed and batches: losses, weights and optimizer slots must agree. Runs where
// Dawn finds an adapter (CI: lavapipe with SYNTHMRI_REQUIRE_WEBGPU=1, where a missing adapter fails in
// webgpu.test.ts); elsewhere skipped with the reason printed. Tiny sizes: lavapipe is slow.
// Tolerances: float32 on both sides with different summation orders: losses to 1e-3 after one step, weights and
// optimizer slots to 1e-3 of their largest magnitude plus 2 lr per step (expectClose says why); the short run of 3
// steps to 2e-2 (rounding differences feed back through the updates).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWebGpu, type WebGpuStart } from "../src/backend/webgpu.js";
import {
  createFamilyModel,
  demoDdpmConfig,
  demoStyleGan2Config,
  type FamilyConfig,
  tf,
  tissueLevel,
} from "../src/index.js";
import { stateArrays, tinySpadeConfig } from "./family-fixtures.js";
import { randn } from "./webgpu-fixtures.js";

let start: WebGpuStart = { ok: false, reason: "not tried" };
beforeAll(async () => {
  start = await startWebGpu();
  if (!start.ok) console.log(`webgpu family tests skipped: ${start.reason}`);
});
afterAll(async () => {
  await tf.setBackend("cpu");
});

/** Name, config, largest learning rate of its optimizers (the sign-flip allowance above). */
const FAMILIES: [string, FamilyConfig, number][] = [
  ["spade2stage", tinySpadeConfig(), 2e-3],
  [
    "stylegan2 (lazy R1 + path length on step 0)",
    demoStyleGan2Config({ resolution: 8, latentSize: 8, fmapBase: 64, fmapMax: 8, mbstdGroup: 4 }),
    2e-3,
  ],
  [
    "ddpm",
    demoDdpmConfig({ resolution: 8, baseChannels: 8, channelMults: [1, 2], groups: 4, attentionMaxSide: 4 }),
    1e-3,
  ],
];

/** Real batch [n, r, r, channels] in [-1, 1]: random sequences, a mask of label levels, tissue levels if needed. */
function batch(config: FamilyConfig, n: number, seed: number): { data: Float32Array; shape: number[] } {
  const r = config.resolution;
  const ch = config.trainChannels ?? config.channels;
  const data = randn(n * r * r * ch, seed).map((v) => Math.tanh(0.7 * v));
  for (let p = 0; p < n * r * r; p++) {
    data[p * ch + 4] = [-1, -0.6, -0.2, 0.6][p % 7 < 4 ? 0 : p % 4];
    if (ch === 6) data[p * ch + 5] = tissueLevel(p % 4);
  }
  return { data, shape: [n, r, r, ch] };
}

interface Run {
  losses: Record<string, number>[];
  arrays: Float32Array[];
}

async function train(backend: string, config: FamilyConfig, steps: number): Promise<Run> {
  await tf.setBackend(backend);
  const model = createFamilyModel(config, 11);
  try {
    const losses: Record<string, number>[] = [];
    for (let s = 0; s < steps; s++) {
      const b = batch(config, 4, 100 + s);
      const real = tf.tensor4d(b.data, b.shape as [number, number, number, number]);
      try {
        losses.push(await model.trainStepAsync(real));
      } finally {
        real.dispose();
      }
    }
    const st = await model.stateAsync();
    const nested = Object.values(st.parts ?? {}) as { weights?: Record<string, { data: Float32Array }[]> }[];
    const extra = nested.flatMap((p) => Object.values(p.weights ?? {}).flatMap((w) => w.map((a) => a.data)));
    return { losses, arrays: [...stateArrays(st), ...extra] };
  } finally {
    model.dispose();
  }
}

/**
 * Losses within lossTol (relative); every array within relTol of its largest magnitude plus absTol: Adam-style
 * normalised updates turn a gradient that is zero up to rounding (e.g. a bias before an instance norm) into a step of
 * +-lr whose sign is the rounding noise's, so up to 2 lr per step apart on the two backends.
 */
function expectClose(gpu: Run, cpu: Run, lossTol: number, relTol: number, absTol: number): void {
  expect(gpu.losses.length).toBe(cpu.losses.length);
  gpu.losses.forEach((l, s) => {
    expect(Object.keys(l).sort()).toEqual(Object.keys(cpu.losses[s]).sort());
    for (const [k, v] of Object.entries(l)) {
      const ref = cpu.losses[s][k];
      expect(Number.isFinite(v), `${k} at step ${s}`).toBe(true);
      expect(Math.abs(v - ref), `${k} at step ${s}: webgpu ${v}, cpu ${ref}`).toBeLessThanOrEqual(
        lossTol * Math.max(1, Math.abs(ref)),
      );
    }
  });
  expect(gpu.arrays.length).toBe(cpu.arrays.length);
  gpu.arrays.forEach((a, i) => {
    const ref = cpu.arrays[i];
    let diff = 0;
    let big = 0;
    for (let j = 0; j < a.length; j++) {
      diff = Math.max(diff, Math.abs(a[j] - ref[j]));
      big = Math.max(big, Math.abs(ref[j]));
    }
    expect(diff, `array ${i} (${a.length} values, largest ${big})`).toBeLessThanOrEqual(relTol * big + absTol);
  });
}

describe("generator families on webgpu", () => {
  for (const [name, config, lr] of FAMILIES) {
    it(`${name}: one train step matches cpu`, async (ctx) => {
      if (!start.ok) ctx.skip();
      const cpu = await train("cpu", config, 1);
      const gpu = await train("webgpu", config, 1);
      expectClose(gpu, cpu, 1e-3, 1e-3, 2 * lr);
    }, 600_000);

    it(`${name}: a short run of 3 steps tracks cpu`, async (ctx) => {
      if (!start.ok) ctx.skip();
      const cpu = await train("cpu", config, 3);
      const gpu = await train("webgpu", config, 3);
      expectClose(gpu, cpu, 2e-2, 2e-2, 2 * lr * 3);
    }, 600_000);
  }
});
