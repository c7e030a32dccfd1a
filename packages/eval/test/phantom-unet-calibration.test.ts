// Calibration of the phantom's difficulty for a U-Net (issue 16), slow: set PHANTOM_UNET_CALIBRATION=1 (and
// optionally PHANTOM_SEEDS=0,1). The demo's real-only condition, as `npm start` runs it: 30 phantom subjects
// of 64x64x40, 10 held out for testing, 20 % of the remaining subjects held out for model selection, the
// demo's U-Net (widths 8-16-32, 2 deep-supervision heads, 32x32 patches, batch 8, 8 x 40 iterations, SGD
// Nesterov lr 0.05 momentum 0.9, no augmentation). Whole-tumour Dice on the test subjects must land in
// [0.6, 0.9]: harder would leave no room for synthetic data to help, easier no room for it to hurt. The
// intensity-only baseline is scored on the same subjects, for the record.
import { beforeAll, describe, expect, it } from "vitest";
import {
  arraySegSource,
  holdOut,
  initBackend,
  predictProbabilities,
  SHORT_RUN_SEG_TRAIN,
  tf,
  trainSegmenter,
  zScoreInPlace,
} from "@synthmri/ml";
import { intensityOnlyBaseline, scoreSubjects } from "../src/index.js";
import { phantomCohortSplit, type SlicedSubject } from "./phantom-cohort.js";

const ENABLED = process.env.PHANTOM_UNET_CALIBRATION === "1";
const SEEDS = (process.env.PHANTOM_SEEDS ?? "0,1").split(",");

async function predictSubject(model: Parameters<typeof predictProbabilities>[0], s: SlicedSubject) {
  const { height: h, width: w } = s.slices[0];
  const data = new Float32Array(s.slices.length * h * w * 4);
  s.slices.forEach((x, i) => {
    data.set(zScoreInPlace(new Float32Array(x.image), h, w, 4), i * h * w * 4);
  });
  const lab = tf.tidy(() => tf.argMax(predictProbabilities(model, tf.tensor4d(data, [s.slices.length, h, w, 4])), -1));
  const flat = Uint8Array.from((await lab.data()) as Int32Array);
  lab.dispose();
  return s.slices.map((_, i) => flat.subarray(i * h * w, (i + 1) * h * w));
}

beforeAll(async () => {
  if (ENABLED) await initBackend();
});

describe.skipIf(!ENABLED)("phantom difficulty for the demo's real-only U-Net (PHANTOM_UNET_CALIBRATION=1)", () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: U-Net WT Dice in [0.6, 0.9] on held-out subjects, intensity-only mean <= 0.5`, async () => {
      const { train, test } = phantomCohortSplit({ subjects: 30, test: 10, size: [64, 64, 40], seed });
      const samples = train.flatMap((s) => s.slices);
      const subjectOf = train.flatMap((s) => s.slices.map(() => s.subject));
      const split = holdOut(
        arraySegSource(samples, (i) => subjectOf[i]),
        0.2,
        Number(seed) || 0,
      );
      const started = Date.now();
      const result = await trainSegmenter({
        config: {
          ...SHORT_RUN_SEG_TRAIN,
          unet: { widths: [8, 16, 32], deepSupervisionHeads: 2 },
          epochs: 8,
          iterationsPerEpoch: 40,
          batchSize: 8,
          patchSize: 32,
          augmentation: { enabled: false },
        },
        data: { train: [split.train], validation: split.validation },
        seed: Number(seed) || 0,
      });
      const seconds = (Date.now() - started) / 1000;
      const scored = [];
      for (const s of test)
        scored.push({
          subject: s.subject,
          height: 64,
          width: 64,
          pred: await predictSubject(result.model, s),
          truth: s.slices.map((x) => x.label),
        });
      result.model.dispose();
      const unet = scoreSubjects(scored);
      const base = intensityOnlyBaseline(
        samples,
        test.map((s) => ({ subject: s.subject, slices: s.slices })),
      );
      const fmt = (d: Record<string, number>) =>
        ["NCR", "ED", "ET", "WT", "TC"].map((k) => `${k} ${d[k].toFixed(3)}`).join(" ");
      console.log(
        `seed ${seed}: U-Net (${seconds.toFixed(0)} s, best epoch ${result.best.epoch}) ${fmt(unet.dice)} mean ${unet.meanNcrEdEt.toFixed(3)} | intensity-only ${fmt(base.dice)} mean ${base.meanNcrEdEt.toFixed(3)}`,
      );
      expect(unet.dice.WT).toBeGreaterThanOrEqual(0.6);
      expect(unet.dice.WT).toBeLessThanOrEqual(0.9);
      expect(base.meanNcrEdEt).toBeLessThanOrEqual(0.5);
    }, 1_800_000);
  }
});
