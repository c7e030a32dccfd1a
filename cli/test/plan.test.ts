// The experiment plan: per-run GAN draws, control GAN subjects, the hypotheses (= the tests Compare runs).
import { describe, expect, it } from "vitest";
import { drawMembers, planConditions, planControlGans, planHypotheses } from "../src/experiment/plan.js";
import { extraComparisons } from "../src/experiment/stages/report.js";
import { loadPreset } from "./spec-helpers.js";

describe("drawMembers (each U-Net run draws its own GANs)", () => {
  it("is seeded: the same (seed, run, size) gives the same members, sorted and distinct", () => {
    for (let run = 0; run < 5; run++) {
      const a = drawMembers(7, run, 5, 20);
      expect(drawMembers(7, run, 5, 20)).toEqual(a);
      expect(new Set(a).size).toBe(5);
      expect([...a].sort((x, y) => x - y)).toEqual(a);
      expect(a.every((m) => m >= 0 && m < 20)).toBe(true);
    }
  });

  it("the single GAN is not always member 0, and varies over runs and seeds", () => {
    const singles = Array.from({ length: 10 }, (_, run) => drawMembers(0, run, 1, 20)[0]);
    expect(new Set(singles).size).toBeGreaterThan(3);
    const bySeed = Array.from({ length: 10 }, (_, seed) => drawMembers(seed, 0, 1, 20)[0]);
    expect(new Set(bySeed).size).toBeGreaterThan(3);
  });

  it("ensembles of different sizes are drawn independently (not nested)", () => {
    let nested = 0;
    for (let run = 0; run < 10; run++) {
      const five = new Set(drawMembers(3, run, 5, 20));
      if (drawMembers(3, run, 10, 20).every((m) => five.has(m)) || drawMembers(3, run, 1, 20).every((m) => five.has(m)))
        nested++;
    }
    expect(nested).toBeLessThan(10);
  });

  it("all members when the size is the ensemble; a size above it is an error", () => {
    expect(drawMembers(1, 0, 3, 3)).toEqual([0, 1, 2]);
    expect(() => drawMembers(1, 0, 4, 3)).toThrow(/cannot draw 4 of 3/);
  });
});

describe("planControlGans", () => {
  const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
  it("halves are disjoint and cover the train subjects; the mode-dropping GAN sees its fraction", () => {
    const s = loadPreset("demo");
    s.controls = { modeDroppingFraction: 0.2, disjointHalves: true, equivalenceMargin: 0.05 };
    const [md, a, b] = planControlGans(s, keys);
    expect(md?.gan).toBe("mode-dropping");
    expect(md?.subjectKeys).toHaveLength(2);
    expect(a?.subjectKeys).toHaveLength(5);
    expect(b?.subjectKeys).toHaveLength(5);
    expect(a?.subjectKeys.filter((k) => b?.subjectKeys.includes(k))).toEqual([]);
    expect([...(a?.subjectKeys ?? []), ...(b?.subjectKeys ?? [])].sort()).toEqual(keys);
    // Same configuration: the two halves differ only in their subjects.
    expect(a?.seed).toBe(b?.seed);
    // Seeded and independent of the order the keys arrive in.
    expect(planControlGans(s, [...keys].reverse())).toEqual([md, a, b]);
  });

  it("nothing when the spec asks for no controls", () => {
    const s = loadPreset("demo");
    s.controls = { modeDroppingFraction: 0, disjointHalves: false, equivalenceMargin: 0.05 };
    expect(planControlGans(s, keys)).toEqual([]);
    expect(planConditions(s).some((c) => c.role === "control")).toBe(false);
  });
});

describe("planHypotheses (the tests the report runs)", () => {
  it("paper preset: real vs each ensemble, N vs 1, 10 vs 5, 20 vs 10, mixed vs real, no controls", () => {
    const s = loadPreset("paper", { dataPath: "/tmp/brats" });
    const pairs = planHypotheses(s).map((h) => `${h.a}~${h.b}`);
    expect(pairs).toEqual([
      "real~synthetic-1",
      "real~synthetic-5",
      "real~synthetic-10",
      "real~synthetic-20",
      "synthetic-5~synthetic-1",
      "synthetic-10~synthetic-1",
      "synthetic-20~synthetic-1",
      "synthetic-10~synthetic-5",
      "synthetic-20~synthetic-10",
      "real+synthetic-1~real",
      "real+synthetic-5~real",
      "real+synthetic-10~real",
      "real+synthetic-20~real",
    ]);
  });

  it("Compare gets the non-reference hypotheses as extra pairs, controls in their own family", () => {
    const s = loadPreset("demo");
    s.synthetic = { ...s.synthetic, ensembleSizes: [1, 2, 4], mixWithReal: [4] };
    s.gan = { ...s.gan, members: 4 };
    s.controls = { modeDroppingFraction: 0.25, disjointHalves: true, equivalenceMargin: 0.05 };
    expect(extraComparisons(s)).toEqual([
      { a: "synthetic-2", b: "synthetic-1", family: "" },
      { a: "synthetic-4", b: "synthetic-1", family: "" },
      { a: "synthetic-4", b: "synthetic-2", family: "" },
      { a: "synthetic-4", b: "control-mode-dropping-gan", family: "control" },
      { a: "control-half-a-gan", b: "control-half-b-gan", family: "control" },
    ]);
  });
});
