// Every family behind the GanModel interface: a few steps run, losses are finite, no tensor leaks, and the
// state survives the checkpoint byte format exactly.
import { beforeAll, describe, expect, it } from "vitest";
import { decodeCheckpoint, encodeCheckpoint } from "../src/gan/checkpoint.js";
import { defaultGanConfig, type GanFamily } from "../src/gan/config.js";
import { createGan, ganFromState } from "../src/gan/create.js";
import { tf } from "../src/gan/tf.js";
import { Rng } from "../src/random/index.js";
import { blobSlices } from "./gan-fixtures.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

describe.each(["pgan", "dcgan", "lsgan", "hinge"] as GanFamily[])("%s", (family) => {
  it("trains, does not leak, and round-trips its state bit-exactly", () => {
    const config = defaultGanConfig({ family, resolution: 8, latentSize: 8, fmapBase: 16, fmapMax: 8 });
    const model = createGan(config, 21);
    if (family === "pgan") model.setGrowth({ level: 1, alpha: 0.5 });
    expect(model.currentResolution).toBe(8);
    expect(model.paramCount).toBeGreaterThan(100);
    const { data } = blobSlices(4, 8, 6);
    const real = tf.tensor4d(data, [4, 8, 8, 5]);
    model.trainStep(real); // first step allocates lasting state (e.g. tfjs' scalar cache)
    const before = tf.memory().numTensors;
    const losses = model.trainStep(real);
    expect(tf.memory().numTensors).toBe(before);
    expect(Number.isFinite(losses.d) && Number.isFinite(losses.g)).toBe(true);
    expect(losses.gp !== undefined).toBe(family === "pgan");

    const copy = ganFromState(
      decodeCheckpoint(
        encodeCheckpoint({ model: model.state(), trainer: { images: 8, rng: new Rng(1).getState(), seconds: 0 } }),
      ).model,
    );
    const z = tf.tensor2d(new Rng(4).fillNormal(new Float32Array(3 * 8)), [3, 8]);
    const a = tf.tidy(() => model.generate(z));
    const b = tf.tidy(() => copy.generate(z));
    expect(b.shape).toEqual([3, 8, 8, 5]);
    expect(Buffer.from(b.dataSync().buffer).equals(Buffer.from(a.dataSync().buffer))).toBe(true);
    // Both continue identically (optimizer moments and Rng came across too).
    const la = model.trainStep(real);
    const lb = copy.trainStep(real);
    expect(lb).toEqual(la);
    tf.dispose([a, b, z, real]);
    model.dispose();
    copy.dispose();
  });
});

describe("config", () => {
  it("rejects bad resolutions and families with actionable messages", () => {
    expect(() => defaultGanConfig({ resolution: 48 })).toThrow(/power of two/);
    expect(() => defaultGanConfig({ family: "stylegan" as GanFamily })).toThrow(/pgan, dcgan, lsgan, hinge/);
  });
  it("refuses a checkpoint of another architecture", () => {
    const m = createGan(
      defaultGanConfig({ family: "pgan", resolution: 8, latentSize: 8, fmapBase: 16, fmapMax: 8 }),
      1,
    );
    const other = createGan(
      defaultGanConfig({ family: "pgan", resolution: 8, latentSize: 8, fmapBase: 32, fmapMax: 16 }),
      1,
    );
    expect(() => other.loadState(m.state())).toThrow(/different GAN config/);
    const bytes = encodeCheckpoint({
      model: m.state(),
      trainer: { images: 0, rng: new Rng(1).getState(), seconds: 0 },
    });
    expect(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 4))).toThrow(/truncated/);
    m.dispose();
    other.dispose();
  });
});
