// StyleGAN2 joint generation (issue 21.2): the re-expressed modulated conv equals per-sample weight modulation,
// R1 and path-length weight gradients agree with finite differences (second-order autodiff on tfjs), training
// moves samples towards the reals, resume is exact, samples are deterministic with valid masks.
import { beforeAll, describe, expect, it } from "vitest";
import { tf } from "../src/backend/tf.js";
import { demoStyleGan2Config, type StyleGan2Config } from "../src/families/stylegan2/config.js";
import { StyleGan2Model } from "../src/families/stylegan2/model.js";
import { modulatedConv } from "../src/families/stylegan2/networks.js";
import { trainFamily } from "../src/families/train.js";
import { expectExactResume } from "./family-fixtures.js";
import { registerNativeKernels } from "../src/native/index.js";
import { Rng } from "../src/random/index.js";
import { blobSlices, pixelSwd } from "./gan-fixtures.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
  registerNativeKernels();
});

function tiny(o: Partial<StyleGan2Config> = {}): StyleGan2Config {
  return demoStyleGan2Config({ resolution: 8, latentSize: 8, fmapBase: 64, fmapMax: 8, mbstdGroup: 4, ...o });
}

function rand(shape: number[], seed: number, std = 1): tf.Tensor {
  return tf.tensor(new Rng(seed).fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)), 0, std), shape);
}

/** Finite-difference step: 1e-3 of the variable's RMS (mapping weights are stored at 1/lrMul = 100x scale). */
function step(v: tf.Variable): number {
  return 1e-3 * (tf.tidy(() => tf.sqrt(tf.mean(tf.square(v))).dataSync()[0]) || 1);
}

/**
 * Central finite differences of `f` w.r.t. the 8 largest-gradient entries of variable `v`, against the autodiff
 * gradient `g`; returns max |error| / max |g| over the entries where f is smooth. R1 and path lengths contain the
 * leaky ReLU's step function, so a finite step that moves a pre-activation across 0 makes f jump: an entry counts
 * only where the differences at h and h/2 agree. At least 3 entries must count.
 */
function fdError(f: () => number, v: tf.Variable, g: Float32Array, h: number): number {
  const base = new Float32Array(v.dataSync());
  const order = [...g.keys()].sort((a, b) => Math.abs(g[b]) - Math.abs(g[a])).slice(0, 8);
  const gmax = Math.abs(g[order[0]]);
  const at = (i: number, d: number) => {
    const p = base.slice();
    p[i] += d;
    v.assign(tf.tensor(p, v.shape));
    return f();
  };
  let err = 0;
  let counted = 0;
  for (const i of order) {
    const fd1 = (at(i, h) - at(i, -h)) / (2 * h);
    const fd2 = (at(i, h / 2) - at(i, -h / 2)) / h;
    if (Math.abs(fd1 - fd2) > 0.01 * gmax) continue;
    counted++;
    err = Math.max(err, Math.abs(fd2 - g[i]));
  }
  v.assign(tf.tensor(base, v.shape));
  expect(counted).toBeGreaterThanOrEqual(3);
  return err / gmax;
}

describe("StyleGAN2 pieces", () => {
  it("modulated conv (scale inputs, shared conv, demodulate outputs) equals per-sample modulated weights", () => {
    tf.tidy(() => {
      const x = rand([3, 5, 5, 4], 1) as tf.Tensor4D;
      const s = tf.add(rand([3, 4], 2, 0.5), 1) as tf.Tensor2D;
      const w = rand([3, 3, 4, 6], 3) as tf.Tensor4D;
      const got = modulatedConv(x, s, w, true);
      for (let i = 0; i < 3; i++) {
        const wi = tf.mul(w, tf.reshape(tf.slice(s, [i, 0], [1, 4]), [1, 1, 4, 1]));
        const wd = tf.div(wi, tf.sqrt(tf.add(tf.sum(tf.square(wi), [0, 1, 2], true), 1e-8))) as tf.Tensor4D;
        const ref = tf.conv2d(tf.slice(x, [i, 0, 0, 0], [1, 5, 5, 4]) as tf.Tensor4D, wd, 1, "same");
        const diff = tf.max(tf.abs(tf.sub(tf.slice(got, [i, 0, 0, 0], [1, 5, 5, 6]), ref))).dataSync()[0];
        expect(diff).toBeLessThan(1e-4);
      }
    });
  });

  it("R1 weight gradients (second order through D) agree with finite differences", () => {
    const m = new StyleGan2Model(tiny(), 1);
    // Continuous random inputs: on piecewise-constant phantoms whole regions cross a leaky-ReLU kink together,
    // and R1 (which contains the kink's step function) jumps under any finite step.
    const joint = rand([4, 8, 8, 8], 3) as tf.Tensor4D;
    const d = m.store("discriminator");
    for (const name of ["b8.conv0.w", "fromrgb.w", "b4.fc.w"]) {
      const v = d.get(name);
      const { value, grads } = d.valueAndGrads(() => m.r1Penalty(joint), [name]);
      const g = new Float32Array(grads[name].dataSync());
      tf.dispose([value, grads[name]]);
      const f = () => tf.tidy(() => m.r1Penalty(joint).dataSync()[0]);
      const e = fdError(f, v, g, step(v));
      expect(e).toBeLessThan(0.01);
    }
    joint.dispose();
    m.dispose();
  });

  it("path-length weight gradients (second order through G) agree with finite differences", () => {
    const m = new StyleGan2Model(tiny(), 2);
    const z = rand([2, 8], 5) as tf.Tensor2D;
    const y = rand([2, 8, 8, 4], 6, 1 / 8) as tf.Tensor4D;
    const noise = (_l: string, n: number, side: number) => tf.zeros([n, side, side, 1]) as tf.Tensor4D;
    const g = m.store("generator");
    const loss = () => tf.mean(tf.square(tf.sub(m.pathLengths(z, noise, y), 0.5))) as tf.Scalar;
    for (const name of ["b8.conv1.weight", "b4.conv1.affine.w", "map0.w"]) {
      const v = g.get(name);
      const { value, grads } = g.valueAndGrads(loss, [name]);
      const gr = new Float32Array(grads[name].dataSync());
      tf.dispose([value, grads[name]]);
      const f = () => tf.tidy(() => loss().dataSync()[0]);
      const e = fdError(f, v, gr, step(v));
      expect(e).toBeLessThan(0.01);
    }
    tf.dispose([z, y]);
    m.dispose();
  });
});

describe("StyleGan2Model", () => {
  it("training moves generated joint images towards the reals and leaks nothing", async () => {
    const { data, source } = blobSlices(48, 8, 3);
    const m0 = new StyleGan2Model(tiny({ learningRate: 0.005 }), 3);
    const distance = (m: StyleGan2Model) =>
      tf.tidy(() => {
        const z = tf.tensor2d(new Rng(42).fillNormal(new Float32Array(32 * 8)), [32, 8]);
        return pixelSwd(m.generate(z), tf.tensor4d(data.subarray(0, 32 * 320), [32, 8, 8, 5]));
      });
    const before = distance(m0);
    m0.dispose();
    const run = await trainFamily({
      config: tiny({ learningRate: 0.005 }),
      data: source,
      seed: 3,
      totalImages: 8 * 100,
      batchSize: 8,
      checkpointEveryKimg: 1,
    });
    const m = run.model as unknown as StyleGan2Model;
    const tensors = tf.memory().numTensors;
    const real = tf.tensor4d(data.subarray(0, 8 * 320), [8, 8, 8, 5]);
    m.trainStep(real);
    real.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
    const after = distance(m);
    console.log(`StyleGAN2 pixel SWD ${before.toFixed(3)} -> ${after.toFixed(3)}; last losses`, run.history.at(-1));
    expect(run.history.every((l) => Number.isFinite(l.d) && Number.isFinite(l.g))).toBe(true);
    expect(run.history.some((l) => l.r1 !== undefined) && run.history.some((l) => l.pl !== undefined)).toBe(true);
    expect(after).toBeLessThan(0.8 * before);
    m.dispose();
  });

  it("resume from a checkpoint equals the uninterrupted run; samples are seeded and masks valid", async () => {
    const { source } = blobSlices(16, 8, 4);
    const base = { config: tiny(), data: source, seed: 9, totalImages: 40, batchSize: 8, checkpointEveryKimg: 0.016 };
    await expectExactResume(base, { killAfterSteps: 3, resumedFromKimg: 0.016, samples: 5 });
  });
});
