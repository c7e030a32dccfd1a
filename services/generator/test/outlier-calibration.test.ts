// The outlier filter's calibrated threshold (issue 16): a percentile of the norms of real held-out (test split)
// slices under the training slices' per-pixel statistics, so a known share of never-seen real images would be
// rejected, instead of seed 001's fixed 500 (which rejects several % of real held-out phantom slices).
import { outlierNorms, outlierReference, Rng } from "@synthmri/ml";
import { describe, expect, it } from "vitest";
import { uint8ToUnit } from "../src/domain/images.js";
import type { DatasetReader, LoadedSlices } from "../src/domain/ports.js";
import { calibrateOutlierThreshold, checkSampleParams } from "../src/domain/sampling.js";

const SIZE = 8;
const CH = 5;

function slices(count: number, seed: number): LoadedSlices {
  const rng = new Rng(seed);
  const data = new Uint8Array(count * SIZE * SIZE * CH);
  for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, Math.round(128 + 40 * rng.normal())));
  return { count, size: SIZE, channels: CH, data };
}

function reader(train: LoadedSlices, test: LoadedSlices): DatasetReader {
  return {
    describe: async () => {
      throw new Error("not used");
    },
    loadTrain: async (_id, o) => (o.split === "test" ? test : train),
  };
}

describe("calibrated outlier threshold", () => {
  const train = slices(400, 1);
  const test = slices(200, 2);
  const ref = outlierReference(uint8ToUnit(train.data), train.count, SIZE, CH);

  it("is the percentile of the held-out real norms: that share of held-out real slices passes", async () => {
    const { threshold, calibration } = await calibrateOutlierThreshold(reader(train, test), "real", ref, 90);
    const norms = outlierNorms(ref, uint8ToUnit(test.data), test.count, CH);
    const passed = Array.from(norms).filter((v) => v <= threshold).length / test.count;
    expect(passed).toBeGreaterThanOrEqual(0.895);
    expect(passed).toBeLessThanOrEqual(0.91);
    expect(calibration).toMatchObject({ percentile: 90, heldOutSlices: 200 });
    expect(calibration.heldOutNorms.p50).toBeLessThan(threshold);
    expect(calibration.heldOutNorms.max).toBeGreaterThanOrEqual(threshold);
    expect(calibration.fixedThresholdRejectsHeldOut).toBeGreaterThanOrEqual(0);
    // A higher percentile is a looser threshold; 100 keeps every held-out real slice.
    const loose = await calibrateOutlierThreshold(reader(train, test), "real", ref, 100);
    expect(loose.threshold).toBe(calibration.heldOutNorms.max);
    expect(loose.threshold).toBeGreaterThan(threshold);
  });

  it("says what to do when the dataset has no held-out slices", async () => {
    await expect(
      calibrateOutlierThreshold(reader(train, { ...test, count: 0, data: new Uint8Array(0) }), "real", ref, 99),
    ).rejects.toThrow(/no held-out \(test\) slices.*give a threshold instead/);
  });

  it("rejects a percentile outside (0, 100] and a threshold given together with it", () => {
    expect(() => checkSampleParams({ count: 1, outlier: { enabled: true, calibratePercentile: 101 } })).toThrow(
      /calibrate_percentile 101/,
    );
    expect(() =>
      checkSampleParams({ count: 1, outlier: { enabled: true, calibratePercentile: 99, threshold: 3 } }),
    ).toThrow(/not both/);
    expect(() => checkSampleParams({ count: 1, outlier: { enabled: true, calibratePercentile: 99 } })).not.toThrow();
  });
});
