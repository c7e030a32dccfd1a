// GAN checkpoints written before the GANs moved to layers/ ParamStore + Adam still load, unchanged in format:
// the fixture is a PGAN checkpoint (8x8, batch 4, stopped mid fade-in at 12 images, so level-0 parameters have 3
// Adam updates and level-1 ones 1) written by the GAN's former own Adam (commit 16ce6e3).
import { readFileSync } from "node:fs";
import { beforeAll, expect, it } from "vitest";
import { decodeCheckpoint, encodeCheckpoint } from "../src/gan/checkpoint.js";
import { ganFromState } from "../src/gan/create.js";
import { tf } from "../src/gan/tf.js";
import { trainGan } from "../src/gan/train.js";
import { blobSlices } from "./gan-fixtures.js";

const fixture = new Uint8Array(readFileSync(new URL("./fixtures/pgan8-v1-before-layers-adam.ckpt", import.meta.url)));

beforeAll(async () => {
  await tf.setBackend("cpu");
});

it("a checkpoint of the former GAN Adam loads, and re-encodes to the same bytes (format and per-parameter steps kept)", () => {
  const before = tf.memory().numTensors;
  const ckpt = decodeCheckpoint(fixture);
  const steps = new Set(Object.values(ckpt.model.generatorOptimizer.steps));
  expect([...steps].sort()).toEqual([1, 3]);
  const model = ganFromState(ckpt.model);
  const again = encodeCheckpoint({ model: model.state(), trainer: ckpt.trainer });
  model.dispose();
  expect(Buffer.from(again).equals(Buffer.from(fixture))).toBe(true);
  expect(tf.memory().numTensors).toBe(before);
});

it("training resumes from it to the end of the schedule", async () => {
  const { source } = blobSlices(16, 8, 2);
  const ckpt = decodeCheckpoint(fixture);
  let last: Uint8Array | undefined;
  const res = await trainGan({
    config: ckpt.model.config,
    data: source,
    seed: ckpt.model.seed,
    schedule: { stabiliseImages: 8, fadeImages: 8, totalImages: 32, batchSizes: [4] },
    checkpointEveryKimg: 0.012,
    checkpoint: {
      save: (b) => {
        last = b;
      },
      load: () => fixture,
    },
  });
  expect(res.resumedFromKimg).toBe(0.012);
  expect(res.images).toBe(32);
  res.model.dispose();
  const end = decodeCheckpoint(last as Uint8Array).model;
  // Per-parameter counts: level-0 blocks 3 + 5 updates, level-1 ones 1 + 5; the 4x4 toRGB takes part only until
  // the fade-in ends at image 16 (2 + 2).
  const steps = end.generatorOptimizer.steps;
  expect(new Set(Object.values(steps))).toEqual(new Set([4, 6, 8]));
  expect([steps["g0/torgb/w"], steps["g1/conv0/w"], steps["g0/conv/w"]]).toEqual([4, 6, 8]);
});
