// Fréchet distance on U-Net encoder features (issue 16): zero for a set against itself, larger for a shifted
// (structured: one bright pixel) set than for another draw of the same distribution, refused below 4 images per feature dimension, no leaks.
import { Rng, tf, UNet } from "@synthmri/ml";
import { describe, expect, it } from "vitest";
import {
  type EncoderImages,
  encoderFeatures,
  encoderFrechetDistance,
  encoderFrechetToReference,
  encoderReference,
} from "../src/index.js";

const H = 8;
const C = 4;

/** Noise images; `spike` > 0 adds one bright pixel per image (structure: the net's instance norm removes a
 * per-channel offset or scale, not a local peak). */
function set(n: number, seed: number, spike = 0): EncoderImages {
  const rng = new Rng(seed);
  const data = new Float32Array(n * H * H * C);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  if (spike)
    for (let k = 0; k < n; k++) {
      const px = rng.int(H * H);
      for (let c = 0; c < C; c++) data[(k * H * H + px) * C + c] += spike;
    }
  return { data, n, height: H, width: H, channels: C };
}

describe("encoder Fréchet distance", () => {
  const model = new UNet({ inChannels: C, numClasses: 4, widths: [4, 8], deepSupervisionHeads: 1 }, 3);

  it("features: sum(widths) numbers per image, no tensors left behind", async () => {
    const before = tf.memory().numTensors;
    const f = await encoderFeatures(model, set(5, 1), 2);
    expect(f.dim).toBe(12);
    expect(f.features.length).toBe(60);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("orders a structurally different set after another draw of the same distribution; 0 against itself", async () => {
    const real = set(60, 1);
    const same = await encoderFrechetDistance(model, real, real);
    expect(same.distance).toBeCloseTo(0, 6);
    const other = await encoderFrechetDistance(model, set(60, 2), real);
    const shifted = await encoderFrechetDistance(model, set(60, 3, 20), real);
    expect(shifted.distance).toBeGreaterThan(other.distance * 3);
    expect(other).toMatchObject({ featureDim: 12, nA: 60, nB: 60, imagesPerFeature: 5 });
  });

  it("a reference encoded once gives the same distances as encoding both sets each time", async () => {
    const real = set(60, 1);
    const reference = await encoderReference(model, real);
    for (const other of [set(60, 2), set(60, 3, 20)]) {
      const once = await encoderFrechetToReference(model, other, reference);
      expect(once).toEqual(await encoderFrechetDistance(model, other, real));
    }
    await expect(encoderReference(model, set(40, 1))).rejects.toThrow(/the reference set has 40/);
  });

  it("refuses fewer than 4 images per feature dimension", async () => {
    await expect(encoderFrechetDistance(model, set(40, 1), set(60, 2))).rejects.toThrow(
      /12 encoder features needs at least 48 images per set/,
    );
  });
});
