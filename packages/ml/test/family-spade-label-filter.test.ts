// Seed 001's outlier filter on two-stage label maps (families/spade/label-filter.ts): the PGAN path's z-score norm
// on one-hot maps, reference from class counts, threshold calibrated on real held-out maps; and the two-stage
// model hands its stage-1 maps to sampling with every batch.
import { describe, expect, it } from "vitest";
import {
  calibrateLabelMapThreshold,
  labelMapNorms,
  labelMapReference,
  outlierNorms,
  outlierReference,
  Rng,
  sampleBatches,
  SpadeTwoStageModel,
  tf,
  twoStageClasses,
} from "../src/index.js";
import { tinySpadeConfig } from "./family-fixtures.js";

const SIZE = 16;

/** Label maps like the phantoms': a brain disc (CSF rim, GM ring, WM core) with a tumour (ED around NCR/ET). */
function plausibleMaps(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n * SIZE * SIZE);
  for (let i = 0; i < n; i++) {
    const cx = SIZE / 2 + rng.uniform(-1, 1);
    const cy = SIZE / 2 + rng.uniform(-1, 1);
    const r = SIZE * rng.uniform(0.36, 0.44);
    const tx = cx + rng.uniform(-0.3, 0.3) * r;
    const ty = cy + rng.uniform(-0.3, 0.3) * r;
    const tr = r * rng.uniform(0.25, 0.4);
    for (let y = 0; y < SIZE; y++)
      for (let x = 0; x < SIZE; x++) {
        const d = Math.hypot(x - cx, y - cy) / r;
        const tissue = d >= 1 ? 0 : d > 0.85 ? 1 : d > 0.6 ? 2 : 3;
        const dt = Math.hypot(x - tx, y - ty) / tr;
        const tumour = d >= 1 ? 0 : dt < 0.35 ? 3 : dt < 0.6 ? 1 : dt < 1 ? 2 : 0;
        out[i * SIZE * SIZE + y * SIZE + x] = twoStageClasses([tumour], [tissue])[0];
      }
  }
  return out;
}

/** A map whose tumour is broken: enhancing tumour scattered over the background and the skull side. */
function brokenTumour(map: Uint8Array, rng: Rng): Uint8Array {
  const out = Uint8Array.from(map);
  for (let k = 0; k < 24; k++) {
    const y = rng.int(SIZE);
    const x = rng.bernoulli(0.5) ? rng.int(3) : SIZE - 1 - rng.int(3);
    out[y * SIZE + x] = 6;
  }
  return out;
}

describe("two-stage label-map outlier filter (seed 001)", () => {
  const rng = new Rng(21);
  const train = plausibleMaps(rng, 200);
  const heldOut = plausibleMaps(rng, 60);
  const ref = labelMapReference(train, 200, SIZE);

  it("classes: the tumour overrides the tissue", () => {
    expect([...twoStageClasses([0, 1, 2, 3, 0], [3, 3, 0, 1, 2])]).toEqual([3, 4, 5, 6, 2]);
  });

  it("is the PGAN path's norm on one-hot maps (gan/outlier.ts with the one-seen-class floor)", () => {
    const n = 200;
    const oneHot = new Float32Array(n * SIZE * SIZE * 7).fill(-1);
    for (let q = 0; q < n * SIZE * SIZE; q++) oneHot[q * 7 + train[q]] = 1;
    const floor = 255 * Math.sqrt((1 / n) * (1 - 1 / n));
    const pgan = outlierReference(oneHot, n, SIZE, 7, { channels: [0, 1, 2, 3, 4, 5, 6], minStd: floor });
    for (let j = 0; j < ref.mean.length; j++) {
      expect(ref.mean[j]).toBeCloseTo(pgan.mean[j], 3);
      expect(ref.std[j]).toBeCloseTo(pgan.std[j], 3);
    }
    const some = heldOut.subarray(0, 5 * SIZE * SIZE);
    const hot = new Float32Array(5 * SIZE * SIZE * 7).fill(-1);
    for (let q = 0; q < 5 * SIZE * SIZE; q++) hot[q * 7 + some[q]] = 1;
    const mine = labelMapNorms(ref, some, 5);
    const theirs = outlierNorms(pgan, hot, 5, 7);
    for (let i = 0; i < 5; i++) expect(mine[i]).toBeCloseTo(theirs[i], 2);
  });

  it("with the calibrated threshold keeps plausible maps and rejects a map with a broken tumour", () => {
    const cal = calibrateLabelMapThreshold(ref, heldOut, 60, 99);
    expect(cal).toMatchObject({ percentile: 99, heldOutMaps: 60 });
    expect(cal.heldOutNorms.p50).toBeLessThan(cal.threshold);
    const fresh = plausibleMaps(new Rng(5), 40);
    const kept = Array.from(labelMapNorms(ref, fresh, 40)).filter((v) => v <= cal.threshold).length;
    expect(kept).toBeGreaterThanOrEqual(36);
    const broken = new Uint8Array(40 * SIZE * SIZE);
    const r2 = new Rng(6);
    for (let i = 0; i < 40; i++)
      broken.set(brokenTumour(fresh.subarray(i * SIZE * SIZE, (i + 1) * SIZE * SIZE), r2), i * SIZE * SIZE);
    const norms = labelMapNorms(ref, broken, 40);
    expect(Array.from(norms).every((v) => v > cal.threshold)).toBe(true);
  });

  it("refuses bad input with a clear message", () => {
    expect(() => labelMapReference(new Uint8Array(10), 1, 3)).toThrow(/10 labels are not 1 maps of 3x3/);
    expect(() => labelMapReference(new Uint8Array(18).fill(9), 2, 3)).toThrow(/class 9 is outside 0..6/);
    expect(() => calibrateLabelMapThreshold(ref, heldOut, 60, 0)).toThrow(/percentile/);
  });

  it("the two-stage model's sample batches carry the label maps its images were made from", () => {
    const config = tinySpadeConfig();
    const model = new SpadeTwoStageModel(config, 1);
    try {
      const before = tf.memory().numTensors;
      const [b] = [...sampleBatches(model, 3, 7, { batchSize: 3 })];
      expect(tf.memory().numTensors).toBe(before);
      expect(b.labelMaps?.length).toBe(3 * 16 * 16);
      // The mask channel is the label maps' tumour classes (4..6 -> NCR/ED/ET levels), background elsewhere.
      for (let p = 0; p < 3 * 16 * 16; p++) {
        const cls = b.labelMaps![p];
        expect(b.labels[p]).toBe(cls >= 4 ? cls - 3 : 0);
      }
    } finally {
      model.dispose();
    }
  });
});
