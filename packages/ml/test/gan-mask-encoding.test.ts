// The generators' mask encoding (issue 16): "onehot" trains on NCR/ED/ET channels and samples back to the product's
// level channel; "level" (and every config or checkpoint without the field) is unchanged.
import { readFileSync } from "node:fs";
import { InvalidInput } from "@synthmri/core";
import { beforeAll, describe, expect, it } from "vitest";
import { demoDdpmConfig } from "../src/families/ddpm/config.js";
import { demoStyleGan2Config } from "../src/families/stylegan2/config.js";
import { trainFamily } from "../src/families/train.js";
import { decodeCheckpoint } from "../src/gan/checkpoint.js";
import { defaultGanConfig, type GanConfig } from "../src/gan/config.js";
import { ganFromState } from "../src/gan/create.js";
import {
  decodeMaskChannels,
  encodeMaskChannels,
  MASK_LEVELS,
  maskEncodedSource,
  maskEncodingOf,
  networkChannels,
} from "../src/gan/mask-encoding.js";
import { type SampleBatch, sample } from "../src/gan/sample.js";
import { tf } from "../src/gan/tf.js";
import { trainGan } from "../src/gan/train.js";
import { registerNativeKernels } from "../src/native/index.js";
import { Rng } from "../src/random/index.js";
import { blobSlices } from "./gan-fixtures.js";

beforeAll(async () => {
  await tf.setBackend("cpu");
  registerNativeKernels();
});

/** A 16x16 5-channel slice like a BraTS tumour: ET rim around an NCR core, ED around both, brain elsewhere. */
function tumourSlice(size = 16): { data: Float32Array; labels: Uint8Array } {
  const data = new Float32Array(size * size * 5);
  const labels = new Uint8Array(size * size);
  const rng = new Rng(3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const p = y * size + x;
      const d = Math.hypot(x - 8, y - 7);
      const label = d < 2 ? 1 : d < 3.5 ? 3 : d < 6 ? 2 : 0;
      labels[p] = label;
      for (let c = 0; c < 4; c++) data[p * 5 + c] = rng.uniform(-1, 1);
      data[p * 5 + 4] = MASK_LEVELS[label];
    }
  }
  return { data, labels };
}

function expectProductBatch(s: SampleBatch, count: number, size: number): void {
  expect(s.channels).toBe(5);
  expect(s.images.length).toBe(count * size * size * 5);
  for (let p = 0; p < s.labels.length; p++) expect(s.images[p * 5 + 4]).toBe(Math.fround(MASK_LEVELS[s.labels[p]]));
}

describe("one-hot mask encoding", () => {
  it("encodes a slice with NCR, ED and ET into three +-1 channels and decodes it back exactly", () => {
    const { data, labels } = tumourSlice();
    expect(new Set(labels)).toEqual(new Set([0, 1, 2, 3]));
    const enc = encodeMaskChannels(data, 5, "onehot");
    expect(enc.length).toBe(16 * 16 * 7);
    for (let p = 0; p < labels.length; p++) {
      for (let c = 0; c < 4; c++) expect(enc[p * 7 + c]).toBe(data[p * 5 + c]);
      const tumour = Array.from(enc.subarray(p * 7 + 4, p * 7 + 7));
      expect(tumour).toEqual([1, 2, 3].map((k) => (labels[p] === k ? 1 : -1)));
    }
    const dec = decodeMaskChannels(enc, 7, "onehot");
    expect(Array.from(dec.labels)).toEqual(Array.from(labels));
    expect(Array.from(dec.images)).toEqual(Array.from(data));
  });

  it("regions: WT/TC/ET channels nest (ET in TC in WT) and decode back exactly", () => {
    const { data, labels } = tumourSlice();
    const enc = encodeMaskChannels(data, 5, "regions");
    const expected = [
      [-1, -1, -1],
      [1, 1, -1],
      [1, -1, -1],
      [1, 1, 1],
    ];
    for (let p = 0; p < labels.length; p++)
      expect(Array.from(enc.subarray(p * 7 + 4, p * 7 + 7))).toEqual(expected[labels[p]]);
    const dec = decodeMaskChannels(enc, 7, "regions");
    expect(Array.from(dec.labels)).toEqual(Array.from(labels));
    expect(Array.from(dec.images)).toEqual(Array.from(data));
    // Soft outputs: WT gates everything, then TC, then ET.
    const soft = Float32Array.from([
      ...[0, 0, 0, 0, -0.1, 0.9, 0.9], // WT absent: background
      ...[0, 0, 0, 0, 0.2, -0.3, 0.8], // TC absent: ED
      ...[0, 0, 0, 0, 0.2, 0.1, -0.5], // TC, no ET: NCR
      ...[0, 0, 0, 0, 0.5, 0.4, 0.01], // ET
    ]);
    expect(Array.from(decodeMaskChannels(soft, 7, "regions").labels)).toEqual([0, 2, 1, 3]);
  });

  it("snaps off-level mask values to the nearest level when encoding", () => {
    const px = Float32Array.from([0, 0, 0, 0, MASK_LEVELS[2] + 0.05, 0, 0, 0, 0, -0.95]);
    const enc = encodeMaskChannels(px, 5, "onehot");
    expect(Array.from(enc.subarray(4, 7))).toEqual([-1, 1, -1]);
    expect(Array.from(enc.subarray(11, 14))).toEqual([-1, -1, -1]);
  });

  it("decodes background unless the largest tumour channel is above 0, else the argmax class", () => {
    const seq = [0.1, 0.2, 0.3, 0.4];
    const px = (t: number[]) => [...seq, ...t];
    const enc = Float32Array.from([
      ...px([-0.2, -0.9, -0.1]), // all below 0: background
      ...px([0.3, 0.6, -1]), // ED wins
      ...px([0.05, -1, 0.01]), // NCR, barely present
      ...px([-1, 0.2, 0.9]), // ET
    ]);
    const dec = decodeMaskChannels(enc, 7, "onehot");
    expect(Array.from(dec.labels)).toEqual([0, 2, 1, 3]);
    expect(Array.from(dec.images.subarray(5, 9))).toEqual(Array.from(Float32Array.from(seq)));
    expect(dec.images[9]).toBe(Math.fround(MASK_LEVELS[2]));
  });

  it("is off by default: configs without the field (and old checkpoints) keep the level channel", () => {
    const c = defaultGanConfig({ family: "pgan", resolution: 8 });
    expect(c.maskEncoding).toBeUndefined();
    expect(maskEncodingOf(c)).toBe("level");
    expect(networkChannels(c)).toBe(5);
    expect(networkChannels({ ...c, maskEncoding: "onehot" })).toBe(7);
    const { source } = blobSlices(2, 8);
    expect(maskEncodedSource(source, c)).toBe(source);
    expect(() => defaultGanConfig({ maskEncoding: "ordinal" as never })).toThrow(InvalidInput);
    expect(() => demoStyleGan2Config({ maskEncoding: "onehot" })).toThrow(/does not apply/);
    expect(demoDdpmConfig({ resolution: 8, channelMults: [1, 2], maskEncoding: "onehot" }).latentSize).toBe(8 * 8 * 7);

    // A checkpoint written before the field existed (fixtures/, commit 16ce6e3) samples 5-channel level masks.
    const fixture = readFileSync(new URL("./fixtures/pgan8-v1-before-layers-adam.ckpt", import.meta.url));
    const state = decodeCheckpoint(new Uint8Array(fixture)).model;
    expect("maskEncoding" in state.config).toBe(false);
    const model = ganFromState(state);
    const s = sample(model, 3, 5);
    model.dispose();
    expectProductBatch(s, 3, model.currentResolution);
  });
});

describe("training with a one-hot mask", () => {
  const { source } = blobSlices(24, 8, 4);

  for (const [family, maskEncoding] of [
    ["pgan", "onehot"],
    ["hinge", "onehot"],
    ["hinge", "regions"],
  ] as const) {
    it(`${family}, ${maskEncoding}: trains on 7 channels, samples 5-channel images with level masks, leaks no tensors`, async () => {
      const before = tf.memory().numTensors;
      const config: GanConfig = defaultGanConfig({
        family,
        resolution: 8,
        latentSize: 8,
        fmapBase: 32,
        fmapMax: 8,
        maskEncoding,
        generatorEmaDecay: 0.9,
      });
      const res = await trainGan({
        config,
        data: source,
        seed: 1,
        schedule: { fadeImages: 8, stabiliseImages: 8, totalImages: 48, batchSizes: [4] },
        checkpointEveryKimg: 1,
      });
      const raw = tf.tidy(() => res.model.generate(tf.zeros([2, config.latentSize])));
      expect(raw.shape).toEqual([2, 8, 8, networkChannels(config)]);
      raw.dispose();
      res.model.useAveragedGenerator();
      const s = sample(res.model, 6, 2, { batchSize: 4 });
      res.model.dispose();
      expectProductBatch(s, 6, 8);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it("ddpm: trains and samples through the same encoding", async () => {
    const before = tf.memory().numTensors;
    const config = demoDdpmConfig({
      resolution: 8,
      channelMults: [1, 2],
      baseChannels: 8,
      groups: 4,
      samplingSteps: 2,
      maskEncoding: "onehot",
    });
    const res = await trainFamily({
      config,
      data: source,
      seed: 1,
      totalImages: 8,
      batchSize: 4,
      checkpointEveryKimg: 1,
    });
    const s = sample(res.model, 2, 3);
    res.model.dispose();
    expectProductBatch(s, 2, 8);
    expect(tf.memory().numTensors).toBe(before);
  });
});
