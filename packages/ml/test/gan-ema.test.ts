// The generator's moving average (PGAN's Gs): updated after every generator step, checkpointed, and what a
// sampler built from a state generates; absent (and configs unchanged) when not asked for.
import { beforeAll, describe, expect, it } from "vitest";
import { decodeCheckpoint, encodeCheckpoint } from "../src/gan/checkpoint.js";
import { defaultGanConfig } from "../src/gan/config.js";
import { createGan, ganFromState, samplerFromState } from "../src/gan/create.js";
import { tf } from "../src/gan/tf.js";
import { Rng } from "../src/random/index.js";
import { blobSlices } from "./gan-fixtures.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const small = { resolution: 8, latentSize: 8, fmapBase: 16, fmapMax: 8 };

function trained(decay: number | undefined, steps: number) {
  const config = defaultGanConfig({ family: "pgan", ...small, ...(decay ? { generatorEmaDecay: decay } : {}) });
  const model = createGan(config, 5);
  model.setGrowth({ level: 1, alpha: 1 });
  const real = tf.tensor4d(blobSlices(4, 8, 3).data, [4, 8, 8, 5]);
  for (let i = 0; i < steps; i++) model.trainStep(real);
  real.dispose();
  return model;
}

const norm = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - (b[i] ?? 0)) ** 2, 0));

describe("generator moving average", () => {
  it("lags the trained weights: ema = decay * ema + (1 - decay) * w, starting at the initial weights", () => {
    const init = createGan(defaultGanConfig({ family: "pgan", ...small, generatorEmaDecay: 0.5 }), 5).state();
    const model = trained(0.5, 3);
    const s = model.state();
    expect(s.generatorEma).toHaveLength(s.generator.length);
    // After 3 steps with decay 0.5 the average sits between the initial and the trained weights.
    const i = s.generator.findIndex((a) => norm(a.data, init.generator.find((b) => b.name === a.name)!.data) > 0);
    const w = s.generator[i]!;
    const e = s.generatorEma!.find((a) => a.name === w.name)!;
    const w0 = init.generator.find((a) => a.name === w.name)!;
    expect(norm(e.data, w.data)).toBeGreaterThan(0);
    expect(norm(e.data, w0.data)).toBeGreaterThan(0);
    expect(norm(e.data, w.data)).toBeLessThan(norm(w0.data, w.data));
    model.dispose();
  });

  it("survives the checkpoint format, and a sampler generates from the average", () => {
    const model = trained(0.9, 2);
    const state = decodeCheckpoint(
      encodeCheckpoint({ model: model.state(), trainer: { images: 8, rng: new Rng(1).getState(), seconds: 0 } }),
    ).model;
    expect(state.generatorEma?.map((a) => a.name)).toEqual(model.state().generatorEma?.map((a) => a.name));
    const resumed = ganFromState(state);
    const sampler = samplerFromState(state);
    const z = tf.tensor2d(new Rng(4).fillNormal(new Float32Array(2 * 8)), [2, 8]);
    const fromG = tf.tidy(() => resumed.generate(z)).dataSync() as Float32Array;
    const fromGs = tf.tidy(() => sampler.generate(z)).dataSync() as Float32Array;
    expect(norm(fromG, fromGs)).toBeGreaterThan(1e-6);
    // The resumed trainer keeps training G, with its average intact.
    expect(resumed.state().generatorEma).toEqual(state.generatorEma);
    z.dispose();
    for (const m of [model, resumed, sampler]) m.dispose();
  });

  it("without a decay: no average in the state, and the sampler is the generator itself", () => {
    const model = trained(undefined, 1);
    const s = model.state();
    expect(s.generatorEma).toBeUndefined();
    expect("generatorEmaDecay" in s.config).toBe(false);
    expect(model.useAveragedGenerator()).toBe(false);
    model.dispose();
  });

  it("does not leak tensors per step", () => {
    const model = trained(0.9, 1);
    const real = tf.tensor4d(blobSlices(4, 8, 3).data, [4, 8, 8, 5]);
    model.trainStep(real);
    const before = tf.memory().numTensors;
    model.trainStep(real);
    expect(tf.memory().numTensors).toBe(before);
    real.dispose();
    model.dispose();
  });
});
