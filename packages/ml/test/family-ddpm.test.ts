// DDPM (issue 22): the loss falls on toy 5-channel slices, a resumed run equals the uninterrupted one bit for
// bit, DDIM sampling is a pure function of the seed, masks come out on the label levels, nothing leaks.
import { beforeAll, describe, expect, it } from "vitest";
import { tf } from "../src/backend/tf.js";
import { demoDdpmConfig, type DdpmConfig } from "../src/families/ddpm/config.js";
import { DdpmModel } from "../src/families/ddpm/model.js";
import { alphaBars, ddimTimesteps } from "../src/families/ddpm/schedule.js";
import type { FamilyState } from "../src/families/model.js";
import { groupNorm, silu, softmaxLast } from "../src/families/nn.js";
import { Scope } from "../src/families/scope.js";
import { ParamStore } from "../src/layers/param-store.js";
import { decodeFamilyCheckpoint, trainFamily } from "../src/families/train.js";
import { memoryCheckpointStore } from "./family-fixtures.js";
import { MASK_LEVELS } from "../src/gan/mask-encoding.js";
import { sample } from "../src/gan/sample.js";
import { registerNativeKernels } from "../src/native/index.js";
import { Rng } from "../src/random/index.js";
import { blobSlices } from "./gan-fixtures.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
  registerNativeKernels();
});

/** A 16x16 U-Net with two levels: the demo architecture, scaled down to keep the test at a few seconds. */
function tiny(over: Partial<DdpmConfig> = {}): DdpmConfig {
  return demoDdpmConfig({
    resolution: 16,
    baseChannels: 8,
    channelMults: [1, 2],
    groups: 4,
    attentionMaxSide: 8,
    samplingSteps: 8,
    learningRate: 2e-3,
    ...over,
  });
}

function allArrays(st: FamilyState): Float32Array[] {
  return [
    ...Object.values(st.weights).flatMap((w) => w.map((a) => a.data)),
    ...Object.values(st.optimizers).flatMap((o) => o.slots.map((a) => a.data)),
  ];
}

describe("DDPM schedule", () => {
  it("cosine alpha-bar falls from ~1 to ~0 monotonically; DDIM steps descend to 0", () => {
    for (const kind of ["cosine", "linear"] as const) {
      const ab = alphaBars(kind, 1000);
      expect(ab[0]).toBeGreaterThan(0.999 - (kind === "linear" ? 0 : 0.0005));
      expect(ab[999]).toBeLessThan(1e-3);
      for (let t = 1; t < 1000; t++) expect(ab[t]).toBeLessThan(ab[t - 1]);
    }
    expect(ddimTimesteps(1000, 4)).toEqual([750, 500, 250, 0]);
  });
});

describe("written-out gradients", () => {
  it("silu, groupNorm and softmaxLast match autodiff of their plain formulas (values and gradients)", () => {
    const store = new ParamStore(1);
    const s = new Scope(store, true);
    const rng = new Rng(4);
    const x = tf.tensor4d(rng.fillNormal(new Float32Array(2 * 3 * 3 * 8)), [2, 3, 3, 8]);
    const w = tf.tensor4d(rng.fillNormal(new Float32Array(2 * 3 * 3 * 8)), [2, 3, 3, 8]);
    groupNorm(s, "gn", x, 4).dispose();
    const gamma = store.get("gn.g");
    const beta = store.get("gn.b");
    gamma.assign(tf.tensor1d(rng.fillNormal(new Float32Array(8), 1, 0.3)));
    beta.assign(tf.tensor1d(rng.fillNormal(new Float32Array(8), 0, 0.3)));
    const plainGn = (v: tf.Tensor4D, g: tf.Tensor, b: tf.Tensor) => {
      const r = tf.reshape(v, [2, 3, 3, 4, 2]);
      const c = tf.sub(r, tf.mean(r, [1, 2, 4], true));
      const y = tf.div(c, tf.sqrt(tf.add(tf.mean(tf.square(c), [1, 2, 4], true), 1e-5)));
      return tf.add(tf.mul(tf.reshape(y, [2, 3, 3, 8]), g), b);
    };
    const cases: [string, (v: tf.Tensor4D, g: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
      ["silu", (v) => silu(v)],
      ["groupNorm", (v) => groupNorm(s, "gn", v, 4)],
      ["softmax", (v) => softmaxLast(v)],
    ];
    const plain: Record<string, (v: tf.Tensor4D, g: tf.Tensor, b: tf.Tensor) => tf.Tensor> = {
      silu: (v) => tf.mul(v, tf.sigmoid(v)),
      groupNorm: plainGn,
      softmax: (v) => tf.softmax(v),
    };
    for (const [name, f] of cases) {
      const wrt = name === "groupNorm" ? [x, gamma, beta] : [x];
      const grads = (fn: typeof f) =>
        tf.grads((...v: tf.Tensor[]) => tf.sum(tf.mul(fn(v[0] as tf.Tensor4D, v[1] ?? gamma, v[2] ?? beta), w)))(wrt);
      const diff = tf.tidy(() => {
        const a = [f(x, gamma, beta), ...grads(f)];
        const r = [plain[name](x, gamma, beta), ...grads(plain[name])];
        return Math.max(...a.map((t, i) => tf.max(tf.abs(tf.sub(t, r[i]))).dataSync()[0]));
      });
      expect(diff, name).toBeLessThan(1e-4);
    }
    tf.dispose([x, w]);
    store.dispose();
  });
});

describe("DdpmModel", () => {
  it("training lowers the diffusion loss on a fixed evaluation batch, without leaking tensors", () => {
    const { data } = blobSlices(32, 16);
    const model = new DdpmModel(tiny(), 3);
    const evalRng = new Rng(77);
    const n = 16;
    const x0 = tf.tensor4d(data.subarray(0, n * 16 * 16 * 5), [n, 16, 16, 5]);
    const t = Int32Array.from({ length: n }, () => evalRng.int(1000));
    const noise = tf.tensor4d(evalRng.fillNormal(new Float32Array(n * 16 * 16 * 5)), [n, 16, 16, 5]);
    const evalLoss = () => {
      const l = model.loss(x0, t, noise);
      const v = l.dataSync()[0];
      l.dispose();
      return v;
    };
    const before = evalLoss();
    const tensors = tf.memory().numTensors;
    const rng = new Rng(5);
    for (let i = 0; i < 25; i++) {
      const idx = Array.from({ length: 8 }, () => rng.int(32));
      const batch = tf.tensor4d(
        Float32Array.from({ length: 8 * 16 * 16 * 5 }, (_, k) => data[idx[Math.floor(k / 1280)] * 1280 + (k % 1280)]),
        [8, 16, 16, 5],
      );
      const l = model.trainStep(batch);
      expect(Number.isFinite(l.loss)).toBe(true);
      batch.dispose();
    }
    // Adam's slots appear at the first step; after that, steps allocate nothing that survives.
    expect(tf.memory().numTensors).toBe(tensors + 2 * model.state().weights.net.length);
    const after = evalLoss();
    console.log(`DDPM eval loss ${before.toFixed(4)} -> ${after.toFixed(4)} after 25 steps`);
    expect(after).toBeLessThan(0.8 * before);
    tf.dispose([x0, noise]);
    model.dispose();
  });

  it("resuming from a checkpoint after a kill equals the uninterrupted run exactly", async () => {
    const { source } = blobSlices(24, 16, 2);
    const config = tiny({ prediction: "v" });
    const base = { config, data: source, seed: 11, totalImages: 48, batchSize: 8, checkpointEveryKimg: 0.016 };
    const straight = await trainFamily(base);
    const store = memoryCheckpointStore();
    // First run dies after 3 steps: its last checkpoint is at step 2 (16 images).
    const killed = await trainFamily({ ...base, checkpoint: store, maxStepsThisRun: 3 });
    killed.model.dispose();
    expect(decodeFamilyCheckpoint(store.last as Uint8Array).trainer.images).toBe(16);
    const resumed = await trainFamily({ ...base, checkpoint: store });
    expect(resumed.resumedFromKimg).toBe(0.016);
    expect(resumed.model.steps).toBe(6);
    const a = allArrays(straight.model.state());
    const b = allArrays(resumed.model.state());
    expect(b.length).toBe(a.length);
    for (let i = 0; i < a.length; i++) expect(b[i]).toEqual(a[i]);
    expect(resumed.history.at(-1)).toEqual(straight.history.at(-1));
    straight.model.dispose();
    resumed.model.dispose();
  });

  it("DDIM sampling is a pure function of the seed (any batch size) and yields valid masks", () => {
    const model = new DdpmModel(tiny(), 4);
    const { data } = blobSlices(8, 16);
    const batch = tf.tensor4d(data, [8, 16, 16, 5]);
    model.trainStep(batch); // EMA differs from init, so sampling exercises the trained weights
    batch.dispose();
    const tensors = tf.memory().numTensors;
    const a = sample(model, 5, 123, { batchSize: 2 });
    const b = sample(model, 5, 123, { batchSize: 5 });
    const c = sample(model, 5, 124, { batchSize: 5 });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(a.images).toEqual(b.images);
    expect(a.labels).toEqual(b.labels);
    expect(c.images).not.toEqual(a.images);
    expect(a.images.every((v) => v >= -1 && v <= 1)).toBe(true);
    for (let p = 0; p < 5 * 16 * 16; p++) {
      expect(a.labels[p]).toBeLessThanOrEqual(3);
      expect(a.images[p * 5 + 4]).toBeCloseTo(MASK_LEVELS[a.labels[p]], 6);
    }
    expect(a.provenance[4]).toMatchObject({ seed: 123, index: 4 });
    model.dispose();
  });

  it("a state round trip rebuilds the same sampler; a foreign config is refused", () => {
    const m = new DdpmModel(tiny(), 8);
    const st = m.state();
    const m2 = new DdpmModel(tiny(), 99);
    m2.loadState(st);
    const z = m.sampleLatents(2);
    const x1 = m.generate(z, 3);
    const x2 = m2.generate(z, 3);
    expect(x2.dataSync()).toEqual(x1.dataSync());
    const other = new DdpmModel(tiny({ baseChannels: 4 }), 8);
    expect(() => other.loadState(st)).toThrow(/different config/);
    tf.dispose([z, x1, x2]);
    for (const x of [m, m2, other]) x.dispose();
  });
});
