import { describe, expect, it } from "vitest";
import { bonferroni, meanStd, pairedSignFlipTest, percentile, summarize } from "../src/stats/index.js";

describe("pairedSignFlipTest (exact)", () => {
  it("d = [1,2,3]: sums over 8 sign vectors are ±6,±4,±2,0,0 -> p = 2/8", () => {
    const r = pairedSignFlipTest([1, 2, 3], [0, 0, 0]);
    expect(r).toMatchObject({ pValue: 0.25, method: "exact", permutations: 8, n: 3, meanDifference: 2 });
  });

  it("d = [2,-1,0.5,3]: flipped subsets with magnitude sum <= 1 or >= 5.5 are 6 of 16 -> p = 0.375", () => {
    const r = pairedSignFlipTest([2.5, 0, 1, 3.25], [0.5, 1, 0.5, 0.25]);
    expect(r.pValue).toBeCloseTo(0.375, 15);
    expect(r.meanDifference).toBeCloseTo(4.5 / 4, 15);
  });

  it("five positive differences: only the all-plus and all-minus vectors tie -> p = 2/32; symmetric in a,b", () => {
    expect(pairedSignFlipTest([1, 2, 3, 4, 5], [0, 1, 2, 3, 4]).pValue).toBe(2 / 32);
    expect(pairedSignFlipTest([0, 1, 2, 3, 4], [1, 2, 3, 4, 5]).pValue).toBe(2 / 32);
  });

  it("all-zero differences give p = 1; NaN pairs are dropped and counted", () => {
    expect(pairedSignFlipTest([0.5, 0.5], [0.5, 0.5]).pValue).toBe(1);
    const r = pairedSignFlipTest([1, Number.NaN, 2, 3], [0, 0.3, 0, 0]);
    expect(r).toMatchObject({ n: 3, nDropped: 1, pValue: 0.25 });
  });

  it("rejects unequal lengths and empty input", () => {
    expect(() => pairedSignFlipTest([1, 2], [1])).toThrow(/same subjects/);
    expect(() => pairedSignFlipTest([], [])).toThrow(/no subject/);
  });
});

describe("pairedSignFlipTest (Monte Carlo)", () => {
  const a = Array.from({ length: 24 }, (_, i) => Math.sin(i * 1.7) * 0.1 + 0.02);
  const b = new Array(24).fill(0);

  it("switches to seeded Monte Carlo above 2^n > maxExact, with (b+1)/(m+1), close to exact", () => {
    const exact = pairedSignFlipTest(a, b, { maxExact: 2 ** 24 });
    expect(exact.method).toBe("exact");
    const mc = pairedSignFlipTest(a, b, { samples: 20_000, seed: 7 });
    expect(mc.method).toBe("monte-carlo");
    expect(mc.permutations).toBe(20_000);
    expect(Math.abs(mc.pValue - exact.pValue)).toBeLessThan(0.015);
    const bPlus1 = mc.pValue * 20_001;
    expect(Math.abs(bPlus1 - Math.round(bPlus1))).toBeLessThan(1e-6);
    expect(pairedSignFlipTest(a, b, { samples: 20_000, seed: 7 }).pValue).toBe(mc.pValue);
  });

  it("never reports p below 1/(m+1)", () => {
    const pos = Array.from({ length: 30 }, (_, i) => i + 1);
    const r = pairedSignFlipTest(pos, new Array(30).fill(0), { samples: 999 });
    expect(r.pValue).toBe(1 / 1000);
  });
});

describe("bonferroni and summaries", () => {
  it("multiplies by the number of comparisons and caps at 1", () => {
    expect(bonferroni([0.01, 0.2, 0.5])).toEqual([0.03, 0.6000000000000001, 1]);
  });

  it("mean ± sample std over runs (n - 1)", () => {
    const r = meanStd([0.79, 0.8, 0.78]);
    expect(r.mean).toBeCloseTo(0.79, 12);
    expect(r.std).toBeCloseTo(0.01, 12);
    expect(meanStd([0.7]).std).toBeNaN();
    expect(meanStd([1, Number.NaN, 3])).toMatchObject({ mean: 2, n: 2, nExcluded: 1 });
  });

  it("percentile interpolates like numpy; summarize excludes NaN", () => {
    expect(percentile([1, 2, 3, 4], 95)).toBeCloseTo(3.85, 12);
    expect(summarize([3, Number.NaN, 1, 2])).toMatchObject({ mean: 2, median: 2, min: 1, max: 3, n: 3, nExcluded: 1 });
  });
});
