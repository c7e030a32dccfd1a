// The intensity-only baseline (issue 16): a per-pixel Gaussian classifier on the four z-scored intensities,
// no spatial context. It must solve data that intensities separate, and must NOT solve the phantoms: on
// held-out phantom subjects of the demo cohort it stays at or below 0.5 mean Dice over NCR/ED/ET and on WT (the
// demo's real-only U-Net reaches mean ~0.6, WT 0.66-0.70 there: bench/src/demo-calibration.ts).
import { describe, expect, it } from "vitest";
import { Rng, type SegSample } from "@synthmri/ml";
import { fitIntensityClassifier, intensityOnlyBaseline, predictIntensityLabels, scoreSubjects } from "../src/index.js";
import { phantomCohortSplit } from "./phantom-cohort.js";

/** A 16x16 slice: brain disc (label 0), with a square of each class whose 4 intensities are class-specific. */
function toySlice(rng: Rng, classMeans: number[][], noise: number): SegSample {
  const h = 16;
  const w = 16;
  const image = new Float32Array(h * w * 4);
  const label = new Uint8Array(h * w);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      if (Math.hypot(x - 7.5, y - 7.5) > 7.5) continue; // background 0: outside the brain
      const c =
        x >= 4 && x < 8 && y >= 4 && y < 8
          ? 1
          : x >= 8 && x < 12 && y >= 4 && y < 8
            ? 2
            : y >= 8 && y < 12 && x >= 6 && x < 10
              ? 3
              : 0;
      label[p] = c;
      for (let ch = 0; ch < 4; ch++) image[p * 4 + ch] = Math.max(1, classMeans[c][ch] + noise * rng.normal());
    }
  return { height: h, width: w, channels: 4, image, label };
}

const MEANS = [
  [100, 100, 100, 100],
  [40, 40, 220, 60],
  [100, 120, 200, 220],
  [120, 240, 120, 150],
];

describe("intensity-only classifier", () => {
  it("segments data that intensities separate (Dice ~1) and predicts background outside the brain", () => {
    const rng = new Rng(3);
    const train = Array.from({ length: 10 }, () => toySlice(rng, MEANS, 4));
    const model = fitIntensityClassifier(train);
    expect(model.counts.every((c) => c > 0)).toBe(true);
    const test = Array.from({ length: 4 }, () => toySlice(rng, MEANS, 4));
    const pred = test.map((s) => predictIntensityLabels(model, s));
    for (let k = 0; k < test.length; k++)
      for (let p = 0; p < 256; p++) if (test[k].image[p * 4] === 0) expect(pred[k][p]).toBe(0);
    const scores = scoreSubjects([{ subject: "s", height: 16, width: 16, pred, truth: test.map((s) => s.label) }]);
    expect(scores.meanNcrEdEt).toBeGreaterThan(0.97);
    // naive Bayes (diagonal covariance) works here too
    const diag = intensityOnlyBaseline(train, [{ subject: "s", slices: test }], { covariance: "diagonal" });
    expect(diag.meanNcrEdEt).toBeGreaterThan(0.9);
    expect(diag.model.covariance).toBe("diagonal");
  });

  it("fails where classes share intensities (Dice of swapped classes near chance)", () => {
    const rng = new Rng(4);
    const same = [MEANS[0], MEANS[1], MEANS[1], MEANS[3]]; // NCR and ED identical
    const train = Array.from({ length: 10 }, () => toySlice(rng, same, 4));
    const test = Array.from({ length: 4 }, () => toySlice(rng, same, 4));
    const r = intensityOnlyBaseline(train, [{ subject: "s", slices: test }]);
    expect(Math.min(r.dice.NCR, r.dice.ED)).toBeLessThan(0.75);
    expect(r.dice.ET).toBeGreaterThan(0.95);
  });

  it("never predicts a class it never saw, and rejects labels outside 0..3", () => {
    const rng = new Rng(5);
    const noEt = Array.from({ length: 6 }, () => {
      const s = toySlice(rng, MEANS, 4);
      return { ...s, label: s.label.map((l) => (l === 3 ? 0 : l)) };
    });
    const model = fitIntensityClassifier(noEt);
    expect(model.logPrior[3]).toBe(Number.NEGATIVE_INFINITY);
    expect(predictIntensityLabels(model, toySlice(rng, MEANS, 4)).includes(3)).toBe(false);
    const bad = toySlice(rng, MEANS, 4);
    bad.label[120] = 4;
    expect(() => fitIntensityClassifier([bad])).toThrow(/label 4 is outside 0\.\.3/);
    expect(() => fitIntensityClassifier([])).toThrow(/no training slices/);
  });

  it("scores <= 0.5 mean Dice over NCR/ED/ET (and ~0.5 WT) on held-out subjects of the demo's phantom cohort", () => {
    // the demo's cohort as ingest imports it (30 subjects of 64x64x40, 32x32 slices, the evaluator's 10 held-out
    // subjects): the numbers the report's baseline row shows. Measured: seed 0 mean 0.430, WT 0.509; seed 1 mean
    // 0.345, WT 0.385 (before the white-matter lesions and the grey matter / oedema overlap: seed 0 0.524 / WT 0.649)
    const { train, test } = phantomCohortSplit({ subjects: 30, test: 10, size: [64, 64, 40], seed: 0, sliceSize: 32 });
    const r = intensityOnlyBaseline(
      train.flatMap((s) => s.slices),
      test.map((s) => ({ subject: s.subject, slices: s.slices })),
    );
    console.log(
      `intensity-only baseline on held-out phantoms: NCR ${r.dice.NCR.toFixed(3)} ED ${r.dice.ED.toFixed(3)} ET ${r.dice.ET.toFixed(3)} mean ${r.meanNcrEdEt.toFixed(3)} WT ${r.dice.WT.toFixed(3)}`,
    );
    expect(r.perSubject).toHaveLength(10);
    expect(r.meanNcrEdEt).toBeLessThanOrEqual(0.45);
    expect(r.dice.WT).toBeLessThanOrEqual(0.52);
  }, 120_000);
});
