// The benchmark nets of shared/peers/SPEC.md (moved with them from packages/ml).
import { describe, expect, it } from "vitest";
import { initBackend, tf } from "@synthmri/ml";
import {
  buildBenchDiscriminator,
  buildBenchGenerator,
  buildBenchUnet,
  createBenchGan,
  createBenchUnet,
  timeSteps,
} from "../src/nets/index.js";

describe("bench nets (shared/peers/SPEC.md)", () => {
  it("have the spec's trainable parameter counts", () => {
    const u = buildBenchUnet(0);
    const g = buildBenchGenerator(0);
    const d = buildBenchDiscriminator(1);
    expect(u.count()).toBe(1_945_152);
    expect(g.count()).toBe(1_505_925);
    expect(d.count()).toBe(401_057);
    expect(g.count() + d.count()).toBe(1_906_982);
    for (const s of [u, g, d]) s.dispose();
  });

  it("train a step on the resolved backend with finite losses and no leaked tensors (small inputs)", async () => {
    await initBackend();
    const before = tf.memory().numTensors;
    const u = createBenchUnet(0, 1, 32);
    const loss = u.trainStep();
    u.inferStep();
    u.dispose();
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeGreaterThan(1); // CE ~ ln 4 plus 1 - Dice at init
    const g = createBenchGan(0, 2);
    const r = g.step();
    g.dispose();
    expect(Number.isFinite(r.lossD) && Number.isFinite(r.lossG)).toBe(true);
    expect(r.lossD).toBeCloseTo(2 * Math.log(2), 0);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("async steps give the sync steps' values (same seeds) without leaked tensors", async () => {
    await initBackend();
    const before = tf.memory().numTensors;
    const [us, ua] = [createBenchUnet(0, 1, 32), createBenchUnet(0, 1, 32)];
    expect(await ua.trainStepAsync()).toBe(us.trainStep());
    expect(await ua.inferStepAsync()).toBeTypeOf("number");
    const [gs, ga] = [createBenchGan(0, 2), createBenchGan(0, 2)];
    expect(await ga.stepAsync()).toEqual(gs.step());
    for (const n of [us, ua, gs, ga]) n.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("timeSteps reports the median of an even count as the mean of the middle two", () => {
    let i = 0;
    const t = timeSteps(() => i++, 1, 4);
    expect(i).toBe(5);
    expect(t.times).toHaveLength(4);
    expect(t.min).toBeLessThanOrEqual(t.median);
  });
});
