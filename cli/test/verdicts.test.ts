// Verdicts: one per hypothesis, decided on the Mean column's corrected p, orientation-independent.
import { describe, expect, it } from "vitest";
import type { ComparisonRow } from "../src/experiment/outputs.js";
import type { HypothesisPlan } from "../src/experiment/plan.js";
import { buildVerdicts, renderVerdicts } from "../src/experiment/verdicts.js";

const row = (a: string, b: string, cls: string, d: number, p: number): ComparisonRow => ({
  a,
  b,
  class: cls,
  p_value: p / 4,
  p_corrected: p,
  mean_difference: d,
});

const h = (a: string, b: string, expected: HypothesisPlan["expected"], family: HypothesisPlan["family"] = "primary") => ({
  hypothesis: `${a} vs ${b}`,
  a,
  b,
  expected,
  family,
});

describe("buildVerdicts", () => {
  it("reads a test Compare ran the other way round with the sign flipped (real vs synthetic is run as synthetic - real)", () => {
    const [v] = buildVerdicts(
      [h("real", "synthetic-3", "a>b")],
      [row("synthetic-3", "real", "Mean", -0.2, 0.01), row("synthetic-3", "real", "NCR", -0.3, 0.02)],
    );
    expect(v?.p_values.Mean).toEqual({ p_value: 0.0025, p_corrected: 0.01, mean_difference: 0.2 });
    expect(v?.outcome).toBe("supported");
    expect(v?.verdict).toMatch(/^supported: real is significantly better than synthetic-3/);
    expect(v?.verdict).toMatch(/NCR \+0\.300/);
  });

  it("not significant = not shown; significant the wrong way = contradicted", () => {
    const [a, b] = buildVerdicts(
      [h("synthetic-3", "synthetic-1", "a>b"), h("synthetic-5", "synthetic-1", "a>b")],
      [row("synthetic-3", "synthetic-1", "Mean", 0.05, 0.2), row("synthetic-5", "synthetic-1", "Mean", -0.1, 0.001)],
    );
    expect(a?.outcome).toBe("not shown");
    expect(b?.outcome).toBe("contradicted");
  });

  it("controls: positive works only when significant in the designed direction; negative works when not significant", () => {
    const v = buildVerdicts(
      [
        h("synthetic-3", "control-mode-dropping-gan", "a>b", "control"),
        h("control-half-a-gan", "control-half-b-gan", "none", "control"),
      ],
      [
        row("synthetic-3", "control-mode-dropping-gan", "Mean", 0.1, 0.02),
        row("control-half-a-gan", "control-half-b-gan", "Mean", 0.01, 0.6),
      ],
    );
    expect(v.map((x) => x.outcome)).toEqual(["control works", "control works"]);
    const failed = buildVerdicts(
      [
        h("synthetic-3", "control-mode-dropping-gan", "a>b", "control"),
        h("control-half-a-gan", "control-half-b-gan", "none", "control"),
      ],
      [
        row("synthetic-3", "control-mode-dropping-gan", "Mean", 0.1, 0.3),
        row("control-half-a-gan", "control-half-b-gan", "Mean", 0.2, 0.001),
      ],
    );
    expect(failed.map((x) => x.outcome)).toEqual(["control failed", "control failed"]);
    expect(failed[0]?.verdict).toMatch(/inconclusive/);
    // A consistent but negligible difference (seed 0's two near-zero halves: -0.002, p 0.047) is equal in
    // practice within the margin; a larger one still fails the control.
    const halves = (d: number) =>
      buildVerdicts(
        [h("control-half-a-gan", "control-half-b-gan", "none", "control")],
        [row("control-half-a-gan", "control-half-b-gan", "Mean", d, 0.047)],
        { equivalenceMargin: 0.05 },
      )[0];
    expect(halves(-0.002)?.outcome).toBe("control works");
    expect(halves(-0.002)?.verdict).toMatch(/smaller than the equivalence margin of 0.05/);
    expect(halves(0.08)?.outcome).toBe("control failed");
  });

  it("open questions (mixed vs real) and missing tests", () => {
    const v = buildVerdicts(
      [h("real+synthetic-3", "real", "open"), h("x", "y", "a>b")],
      [row("real+synthetic-3", "real", "Mean", 0.02, 0.04)],
    );
    expect(v[0]?.outcome).toBe("difference");
    expect(v[0]?.verdict).toMatch(/real\+synthetic-3 is significantly better than real/);
    expect(v[1]?.outcome).toBe("not tested");
    expect(renderVerdicts(v)).toContain("| real+synthetic-3 vs real | real+synthetic-3 vs real | primary | +0.020 | 0.0400 |");
  });
});
