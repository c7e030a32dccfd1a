// Thresholds calibrated on real data (issue 16): the outlier threshold and the memorization gate are
// percentiles of what unseen real images score against the real training images; the Fréchet distance flags
// (or refuses) sets with fewer than 4 images per feature dimension.
import { beforeAll, describe, expect, it } from "vitest";
import { defaultOutlierThreshold, filterOutliers, Rng, tf } from "@synthmri/ml";
import {
  calibrateMemorizationGate,
  calibrateOutlierThreshold,
  FEATURE_DIM,
  featureFrechetDistance,
  FeatureStatsAccumulator,
  frechetBetween,
  type ImageSet,
  MemorizationGate,
  minImagesForFrechet,
  type OutlierImages,
  referenceDistribution,
} from "../src/quality/index.js";

/** "Real" images in [-1, 1]: a disc of random position and brightness, noise; mask channel last. */
function discs(n: number, size: number, seed: number, wild = 0): OutlierImages {
  const rng = new Rng(seed);
  const c = 2;
  const images = new Float32Array(n * size * size * c);
  for (let i = 0; i < n; i++) {
    const cx = size / 2 + rng.uniform(-2, 2) + (i < wild ? rng.uniform(-6, 6) : 0);
    const cy = size / 2 + rng.uniform(-2, 2);
    const r = size * rng.uniform(0.25, 0.32);
    const amp = rng.uniform(0.5, 0.9);
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        const inside = Math.hypot(x - cx, y - cy) < r;
        const o = ((i * size + y) * size + x) * c;
        images[o] = inside ? -1 + amp + 0.05 * rng.normal() : -1;
        images[o + 1] = inside && Math.hypot(x - cx, y - cy) < r / 3 ? 0.6 : -1;
      }
  }
  return { images, count: n, size, channels: c };
}

function toImageSet(o: OutlierImages): ImageSet {
  return {
    data: Uint8Array.from(o.images, (v) => Math.round((v + 1) * 127.5)),
    n: o.count,
    h: o.size,
    w: o.size,
    c: o.channels,
  };
}

describe("reference distributions", () => {
  it("summarises values with numpy-style quantiles", () => {
    const d = referenceDistribution([5, 1, 3, 2, 4]);
    expect(d.sorted).toEqual([1, 2, 3, 4, 5]);
    expect(d.mean).toBe(3);
    expect(d.quantiles.find((q) => q.q === 0.5)?.value).toBe(3);
    expect(d.quantiles.find((q) => q.q === 0.25)?.value).toBe(2);
    expect(() => referenceDistribution([])).toThrow(/at least one value/);
  });
});

describe("outlier threshold calibrated on real held-out vs real training images", () => {
  const train = discs(120, 16, 1);
  const heldOut = discs(100, 16, 2);

  it("is the requested percentile of held-out norms, so about (100 - p) % of unseen real images are rejected", () => {
    const cal = calibrateOutlierThreshold(heldOut, train, 95);
    expect(cal.percentile).toBe(95);
    const rejected = cal.heldOut.sorted.filter((v) => v > cal.threshold).length;
    expect(rejected).toBeGreaterThanOrEqual(3);
    expect(rejected).toBeLessThanOrEqual(6);
    // in-sample norms are smaller than out-of-sample ones (the training images built the reference)
    expect(cal.train.quantiles.find((q) => q.q === 0.5)!.value).toBeLessThan(
      cal.heldOut.quantiles.find((q) => q.q === 0.5)!.value,
    );
    expect(cal.seedThreshold).toBeCloseTo(defaultOutlierThreshold(16, 1), 9);
    expect(cal.seedRejectsHeldOut).toBeGreaterThanOrEqual(0);
    // the threshold plugs into the seed-001 filter: held-out images pass at the calibrated rate
    const batch = {
      ...heldOut,
      labels: new Uint8Array(heldOut.count * 16 * 16),
      provenance: Array.from({ length: heldOut.count }, () => ({ member: 0, seed: 0, index: 0 })),
    } as unknown as Parameters<typeof filterOutliers>[0];
    expect(filterOutliers(batch, cal.reference, cal.threshold).rejected).toBe(rejected);
  });

  it("rejects images far from the real distribution and a higher percentile rejects fewer", () => {
    const cal = calibrateOutlierThreshold(heldOut, train, 99);
    const wild = discs(40, 16, 3, 40);
    const batch = {
      ...wild,
      labels: new Uint8Array(wild.count * 16 * 16),
      provenance: Array.from({ length: wild.count }, () => ({ member: 0, seed: 0, index: 0 })),
    } as unknown as Parameters<typeof filterOutliers>[0];
    expect(filterOutliers(batch, cal.reference, cal.threshold).rejected).toBeGreaterThan(20);
    expect(calibrateOutlierThreshold(heldOut, train, 80).threshold).toBeLessThan(cal.threshold);
  });

  it("rejects mismatched sets and bad percentiles with clear messages", () => {
    expect(() => calibrateOutlierThreshold(discs(4, 8, 1), train)).toThrow(/one resolution and layout/);
    expect(() => calibrateOutlierThreshold(heldOut, train, 0)).toThrow(/percentile must be in \(0, 100\]/);
  });
});

describe("memorization gate calibrated on real held-out vs real training slices", () => {
  const train = toImageSet(discs(60, 16, 4));
  const heldOut = toImageSet(discs(50, 16, 5));

  it("flags about (100 - p) % of unseen real slices and every copy of a training slice", () => {
    const gate = new MemorizationGate(train);
    const cal = calibrateMemorizationGate(heldOut, gate, 90);
    expect(cal.nccThreshold).toBeLessThanOrEqual(1);
    expect(cal.heldOut.n).toBe(50);
    const calibrated = new MemorizationGate(train, { nccThreshold: cal.nccThreshold });
    const flaggedHeld = calibrated.check(heldOut).filter((d) => !d.pass).length;
    expect(flaggedHeld).toBeGreaterThanOrEqual(4);
    expect(flaggedHeld).toBeLessThanOrEqual(7);
    // copies of training slices are flagged
    const per = 16 * 16 * 2;
    const copies: ImageSet = { ...train, n: 5, data: train.data.slice(0, 5 * per) };
    expect(calibrated.check(copies).every((d) => !d.pass)).toBe(true);
    // these look-alike discs correlate highly: a fixed 0.95 gate would flag many never-seen real slices
    expect(cal.fixedGateFlagsHeldOut).toBeGreaterThan(0.1);
    // same result from the raw training set
    expect(calibrateMemorizationGate(heldOut, train, 90).nccThreshold).toBe(cal.nccThreshold);
  });
});

describe("Fréchet distance sample size (>= 4 images per feature dimension)", () => {
  beforeAll(async () => {
    await tf.setBackend("cpu");
  });

  it("flags sets below 4x the feature dimension, or refuses them when asked", () => {
    expect(minImagesForFrechet(FEATURE_DIM)).toBe(4 * FEATURE_DIM);
    const a = toImageSet(discs(16, 16, 6));
    const b = toImageSet(discs(16, 16, 7));
    const small = featureFrechetDistance(a, b);
    expect(small.sufficient).toBe(false);
    expect(small.imagesPerFeature).toBeCloseTo(16 / FEATURE_DIM, 9);
    expect(() => featureFrechetDistance(a, b, { onTooFewImages: "throw" })).toThrow(
      /needs at least 512 images per set .* got 16 and 16/,
    );
    expect(featureFrechetDistance(a, b, { minImagesPerFeature: 0.1 }).sufficient).toBe(true);
    const accA = new FeatureStatsAccumulator();
    const accB = new FeatureStatsAccumulator();
    accA.add(a);
    accB.add(b);
    expect(frechetBetween(accA, accB).sufficient).toBe(false);
    expect(() => frechetBetween(accA, accB, { onTooFewImages: "throw" })).toThrow(/needs at least 512/);
  });
});
