import { describe, expect, it } from "vitest";
import {
  adam,
  avgPool2x2,
  convTranspose2x2,
  instanceNorm,
  leakyRelu,
  minibatchStdDev,
  ParamStore,
  polyLr,
  Rng,
  sgdNesterov,
  tf,
  upsampleNearest2x,
} from "../src/index.js";

function rand(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(new Rng(seed).fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1))), shape);
}
function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe("layer ops (cpu)", () => {
  it("convTranspose2x2 equals tf.conv2dTranspose (max abs error < 1e-4)", async () => {
    await tf.setBackend("cpu");
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = rand([2, 3, 4, 5], 1) as tf.Tensor4D;
      const w = rand([2, 2, 6, 5], 2) as tf.Tensor4D;
      const b = rand([6], 3) as tf.Tensor1D;
      const ref = tf.add(tf.conv2dTranspose(x, w, [2, 6, 8, 6], 2, "valid"), b);
      expect(maxAbsDiff(convTranspose2x2(x, w, b), ref)).toBeLessThan(1e-4);
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it("instanceNorm, leakyRelu, avgPool2x2, upsample match reference ops", async () => {
    await tf.setBackend("cpu");
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = rand([2, 4, 6, 3], 4) as tf.Tensor4D;
      const { mean, variance } = tf.moments(x, [1, 2], true);
      const ref = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5)));
      expect(maxAbsDiff(instanceNorm(x, null, null), ref)).toBeLessThan(1e-5);
      expect(maxAbsDiff(leakyRelu(x, 0.01), tf.leakyRelu(x, 0.01))).toBeLessThan(1e-6);
      expect(maxAbsDiff(avgPool2x2(x), tf.avgPool(x, 2, 2, "valid"))).toBeLessThan(1e-6);
      const up = upsampleNearest2x(x);
      expect(up.shape).toEqual([2, 8, 12, 3]);
      expect(maxAbsDiff(tf.slice(up, [0, 3, 5, 0], [2, 1, 1, 3]), tf.slice(x, [0, 1, 2, 0], [2, 1, 1, 3]))).toBe(0);
      expect(minibatchStdDev(x).shape).toEqual([2, 4, 6, 4]);
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it("leakyRelu and avgPool2x2 have second-order gradients", async () => {
    await tf.setBackend("cpu");
    const before = tf.memory().numTensors;
    const w = tf.tidy(() => tf.variable(rand([3, 3, 2, 2], 5)));
    tf.tidy(() => {
      const x = rand([1, 4, 4, 2], 6) as tf.Tensor4D;
      const { grads } = tf.variableGrads(() => {
        const gx = tf.grad((xi: tf.Tensor) =>
          tf.sum(avgPool2x2(leakyRelu(tf.conv2d(xi as tf.Tensor4D, w as tf.Variable<tf.Rank.R4>, 1, "same")))),
        )(x);
        return tf.sum(tf.square(gx)) as tf.Scalar;
      }, [w]);
      expect(Number.isFinite(grads[w.name].sum().dataSync()[0])).toBe(true);
    });
    w.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("ParamStore", () => {
  it("is seeded, counts, and round-trips through bytes", async () => {
    await tf.setBackend("cpu");
    const before = tf.memory().numTensors;
    const a = new ParamStore(7);
    a.add("conv.w", [3, 3, 4, 8], { kind: "he" });
    a.add("conv.b", [8], { kind: "zeros" });
    a.add("norm.g", [8], { kind: "ones" });
    const b = new ParamStore(7);
    b.add("conv.w", [3, 3, 4, 8], { kind: "he" });
    expect(Array.from(b.get("conv.w").dataSync())).toEqual(Array.from(a.get("conv.w").dataSync()));
    expect(a.count()).toBe(3 * 3 * 4 * 8 + 16);
    expect(a.count("conv.")).toBe(3 * 3 * 4 * 8 + 8);
    const { index, data } = a.toBytes();
    expect(data.byteLength).toBe(a.count() * 4);
    const c = new ParamStore(99);
    c.add("conv.w", [3, 3, 4, 8], { kind: "he" });
    c.add("conv.b", [8], { kind: "normal", std: 1 });
    c.add("norm.g", [8], { kind: "zeros" });
    c.fromBytes(JSON.parse(JSON.stringify(index)), data);
    expect(Array.from(c.get("conv.w").dataSync())).toEqual(Array.from(a.get("conv.w").dataSync()));
    expect(Array.from(c.get("norm.g").dataSync())).toEqual(new Array(8).fill(1));
    const bad = new ParamStore(1);
    bad.add("conv.w", [3, 3, 4, 9], { kind: "he" });
    expect(() => bad.fromBytes(index, data)).toThrow(/shape/);
    for (const s of [a, b, c, bad]) s.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("optimizers", () => {
  async function run(kind: "sgd" | "adam", resumeAt: number | null): Promise<Float32Array> {
    const store = new ParamStore(3);
    store.add("w", [5, 3], { kind: "normal", std: 1 });
    store.add("b", [3], { kind: "zeros" });
    const x = rand([4, 5], 11) as tf.Tensor2D;
    const make = () =>
      kind === "sgd"
        ? sgdNesterov({ lr: 0.05, momentum: 0.99, weightDecay: 3e-5 })
        : adam({ lr: 2e-4, beta1: 0, beta2: 0.99, eps: 1e-8 });
    let opt = make();
    for (let i = 0; i < 5; i++) {
      if (i === resumeAt) {
        const st = opt.getState();
        opt.dispose();
        opt = make();
        opt.setState(st);
      }
      const { value, grads } = store.valueAndGrads(
        () =>
          tf.mean(
            tf.square(tf.add(tf.matMul(x, store.get("w") as tf.Variable<tf.Rank.R2>), store.get("b"))),
          ) as tf.Scalar,
      );
      value.dispose();
      opt.apply(store, grads);
    }
    const out = store.get("w").dataSync() as Float32Array;
    opt.dispose();
    store.dispose();
    x.dispose();
    return out;
  }

  it("sgdNesterov matches tf.train.momentum on g + wd*p, and resumes exactly", async () => {
    await tf.setBackend("cpu");
    // Reference: tfjs' own Nesterov momentum with the decay term added by hand. (tf.train.momentum keeps a
    // few tensors after dispose, so the leak check below covers only our optimizer.)
    const w = tf.tidy(() => tf.variable(tf.tensor(new Rng(3).fillNormal(new Float32Array(15)), [5, 3])));
    const b = tf.tidy(() => tf.variable(tf.zeros([3])));
    const x = rand([4, 5], 11) as tf.Tensor2D;
    const ref = tf.train.momentum(0.05, 0.99, true);
    for (let i = 0; i < 5; i++) {
      const { value, grads } = tf.variableGrads(
        () => tf.mean(tf.square(tf.add(tf.matMul(x, w as tf.Variable<tf.Rank.R2>), b))) as tf.Scalar,
        [w, b],
      );
      const decayed = {
        [w.name]: tf.add(grads[w.name], tf.mul(w, 3e-5)),
        [b.name]: tf.add(grads[b.name], tf.mul(b, 3e-5)),
      };
      ref.applyGradients(decayed as unknown as Parameters<typeof ref.applyGradients>[0]);
      tf.dispose([value, grads, decayed]);
    }
    const refW = w.dataSync();
    ref.dispose();
    tf.dispose([w, b, x]);
    const before = tf.memory().numTensors;
    const ours = await run("sgd", null);
    for (let i = 0; i < 15; i++) expect(Math.abs(ours[i] - refW[i])).toBeLessThan(1e-5);
    expect(Array.from(await run("sgd", 2))).toEqual(Array.from(ours));
    expect(tf.memory().numTensors).toBe(before);
  });

  it("adam matches tf.train.adam and resumes exactly", async () => {
    await tf.setBackend("cpu");
    const before = tf.memory().numTensors;
    const ours = await run("adam", null);
    const w = tf.tidy(() => tf.variable(tf.tensor(new Rng(3).fillNormal(new Float32Array(15)), [5, 3])));
    const b = tf.tidy(() => tf.variable(tf.zeros([3])));
    const x = rand([4, 5], 11) as tf.Tensor2D;
    const ref = tf.train.adam(2e-4, 0, 0.99, 1e-8);
    for (let i = 0; i < 5; i++) {
      const { value, grads } = tf.variableGrads(
        () => tf.mean(tf.square(tf.add(tf.matMul(x, w as tf.Variable<tf.Rank.R2>), b))) as tf.Scalar,
        [w, b],
      );
      ref.applyGradients(grads as unknown as Parameters<typeof ref.applyGradients>[0]);
      tf.dispose([value, grads]);
    }
    const refW = w.dataSync();
    for (let i = 0; i < 15; i++) expect(Math.abs(ours[i] - refW[i])).toBeLessThan(1e-6);
    ref.dispose();
    tf.dispose([w, b, x]);
    expect(Array.from(await run("adam", 3))).toEqual(Array.from(ours));
    expect(tf.memory().numTensors).toBe(before);
  });

  it("apply(store, grads, more) is apply with the sum of the two contributions (a parameter in one map only too)", () => {
    const before = tf.memory().numTensors;
    const g = (seed: number, n = 3) => rand([n], seed);
    const run = (split: boolean) => {
      const store = new ParamStore(3);
      store.add("w", [3], { kind: "normal", std: 1 });
      store.add("b", [2], { kind: "normal", std: 1 });
      const opt = adam({ lr: 0.01, beta1: 0.5, beta2: 0.99, eps: 1e-8 });
      for (let i = 0; i < 3; i++) {
        const [w1, w2, b2] = [g(10 + i), g(20 + i), g(30 + i, 2)];
        if (split) opt.apply(store, { w: w1 }, { w: w2, b: b2 });
        else {
          opt.apply(store, { w: tf.add(w1, w2), b: b2 });
          tf.dispose([w1, w2]);
        }
      }
      const out = [...store.get("w").dataSync(), ...store.get("b").dataSync()];
      expect([opt.stepOf("w"), opt.stepOf("b")]).toEqual([3, 3]);
      opt.dispose();
      store.dispose();
      return out;
    };
    expect(run(true)).toEqual(run(false));
    expect(tf.memory().numTensors).toBe(before);
  });

  it("counts steps per parameter: a parameter joining late gets its own bias correction, kept across resume", () => {
    const before = tf.memory().numTensors;
    const g = (seed: number) => rand([3], seed);
    /** Adam over w (every step) and late (from step 3); `resumeAt` round-trips the state. */
    const run = (resumeAt: number | null) => {
      const store = new ParamStore(3);
      store.add("w", [3], { kind: "normal", std: 1 });
      store.add("late", [3], { kind: "normal", std: 1 });
      const make = () => adam({ lr: 0.1, beta1: 0.5, beta2: 0.9 });
      let opt = make();
      for (let i = 0; i < 5; i++) {
        if (i === resumeAt) {
          const st = opt.getState();
          opt.dispose();
          opt = make();
          // Through JSON, as the U-Net train-state header carries it.
          const header = JSON.parse(JSON.stringify({ ...st, data: undefined }));
          opt.setState({ ...header, data: st.data.slice() });
        }
        opt.apply(store, i >= 2 ? { w: g(i), late: g(10 + i) } : { w: g(i) });
      }
      const out = { w: store.get("w").dataSync().slice(), late: store.get("late").dataSync().slice() };
      expect([opt.step, opt.stepOf("w"), opt.stepOf("late")]).toEqual([5, 5, 3]);
      opt.dispose();
      store.dispose();
      return out;
    };
    const ours = run(null);
    // Reference for `late`: a fresh optimizer that sees only its three gradients (bias correction from 1).
    const alone = new ParamStore(3);
    alone.add("w", [3], { kind: "normal", std: 1 }); // same Rng draws as above
    alone.add("late", [3], { kind: "normal", std: 1 });
    const opt = adam({ lr: 0.1, beta1: 0.5, beta2: 0.9 });
    for (let i = 2; i < 5; i++) opt.apply(alone, { late: g(10 + i) });
    expect(Array.from(ours.late)).toEqual(Array.from(alone.get("late").dataSync()));
    opt.dispose();
    alone.dispose();
    expect(Array.from(run(3).late)).toEqual(Array.from(ours.late));
    expect(Array.from(run(3).w)).toEqual(Array.from(ours.w));
    expect(tf.memory().numTensors).toBe(before);
  });

  it("loads a state written before per-parameter step counts (every slot at the global step)", () => {
    const store = new ParamStore(1);
    store.add("w", [4], { kind: "normal", std: 1 });
    const a = adam({ lr: 0.1 });
    for (let i = 0; i < 2; i++) a.apply(store, { w: rand([4], i) });
    const { steps, ...legacy } = a.getState();
    expect(steps).toEqual({ w: 2 });
    const b = adam({ lr: 0.1 });
    b.setState(legacy);
    expect([b.step, b.stepOf("w")]).toEqual([2, 2]);
    expect(() => sgdNesterov({ lr: 1 }).setState(legacy)).toThrow(/for adam/);
    for (const x of [a, b, store]) x.dispose();
  });

  it("polyLr decays to zero", () => {
    expect(polyLr(0.01, 0, 100)).toBe(0.01);
    expect(polyLr(0.01, 100, 100)).toBe(0);
    expect(polyLr(0.01, 50, 100)).toBeCloseTo(0.01 * 0.5 ** 0.9, 12);
  });
});
