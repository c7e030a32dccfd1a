import { describe, expect, it } from "vitest";
import { decodePng } from "../src/figures/index.js";
import { type LabelVolume, segmentationMetrics } from "../src/metrics/index.js";
import { type ConditionInput, conditionFromRuns, renderReport } from "../src/report/index.js";

const subjects = (ncr: number[], ed: number[]) =>
  ncr.map((v, i) => ({ subjectId: `s${i + 1}`, dice: { NCR: v, ED: ed[i], ET: 0.7, WT: 0.8, TC: 0.75 } }));

const real: ConditionInput = {
  name: "real only",
  runMeanDice: [
    { NCR: 0.6, ED: 0.78, ET: 0.79, WT: 0.85, TC: 0.8 },
    { NCR: 0.61, ED: 0.79, ET: 0.8, WT: 0.86, TC: 0.8 },
    { NCR: 0.62, ED: 0.8, ET: 0.81, WT: 0.87, TC: 0.8 },
  ],
  subjectDice: subjects([0.5, 0.6, 0.7, 0.8], [0.5, 0.6, 0.7, 0.8]),
};
const gans: ConditionInput = {
  name: "10 GANs",
  runMeanDice: [
    { NCR: 0.5, ED: 0.7, ET: 0.69, WT: 0.8, TC: 0.7 },
    { NCR: 0.54, ED: 0.7, ET: 0.7, WT: 0.8, TC: 0.7 },
    { NCR: 0.58, ED: 0.7, ET: 0.71, WT: 0.8, TC: 0.7 },
  ],
  // NCR: every subject 0.1 lower -> exact p = 2/16; ED: differences [0.1,-0.1,0,0] -> sum 0 -> p = 1.
  subjectDice: subjects([0.4, 0.5, 0.6, 0.7], [0.6, 0.5, 0.7, 0.8]),
};

describe("renderReport", () => {
  const r = renderReport([real, gans], { baseline: "real only", emptyPolicy: "both-empty-1" });

  it("report.json carries mean ± std over runs, p-values and Bonferroni over all comparisons", () => {
    const j = JSON.parse(r.jsonText);
    expect(j).toMatchObject({ n_runs: 3, n_subjects: 4, empty_policy: "both-empty-1", baseline: "real only" });
    expect(j.conditions[0].name).toBe("real only");
    expect(j.conditions[0].dice.NCR.mean).toBeCloseTo(0.61, 12);
    expect(j.conditions[0].dice.NCR.std).toBeCloseTo(0.01, 12);
    expect(j.conditions[1].dice.NCR.std).toBeCloseTo(0.04, 12);
    expect(j.conditions[1].dice.ED.std).toBeCloseTo(0, 12);
    // Table 1 "Mean" of NCR, ED, ET per run: real runs 0.7233.., 0.7333.., 0.7433.. -> mean 0.7333, std 0.01.
    expect(j.conditions[0].dice_label_mean.mean).toBeCloseTo(0.7333333333, 9);
    expect(j.conditions[0].dice_label_mean.std).toBeCloseTo(0.01, 12);
    // NCR, ED, ET, WT, TC and Table 1's Mean (per-subject mean of NCR, ED, ET) are tested.
    expect(j.comparisons).toHaveLength(6);
    const ncr = j.comparisons.find((c: { class: string }) => c.class === "NCR");
    expect(ncr).toMatchObject({
      a: "10 GANs",
      b: "real only",
      family: "primary",
      p_value: 0.125,
      // Bonferroni over the primary family only: NCR, ED, ET and Mean.
      p_corrected: 0.5,
      n: 4,
      method: "exact",
    });
    expect(ncr.mean_difference).toBeCloseTo(-0.1, 12);
    const ed = j.comparisons.find((c: { class: string }) => c.class === "ED");
    expect(ed).toMatchObject({ p_value: 1, p_corrected: 1 });
    expect(j.correction).toEqual({
      method: "bonferroni",
      n_comparisons: 4,
      families: { primary: 4, secondary: 2, control: 0 },
    });
    const wt = j.comparisons.find((c: { class: string }) => c.class === "WT");
    expect(wt.family).toBe("secondary");
    // Mean per subject: real [0.5667, 0.6333, 0.7, 0.7667] vs 10 GANs [0.5667, 0.5667, 0.6667, 0.7333].
    const mean = j.comparisons.find((c: { class: string }) => c.class === "Mean");
    expect(mean.family).toBe("primary");
    expect(mean.mean_difference).toBeCloseTo(-1 / 30, 12);
    expect(j.metric_definitions.empty_policy).toMatch(/BraTS/);
  });

  it("renders a Table-1 markdown table with p-values vs the baseline", () => {
    const lines = r.markdown.split("\n");
    expect(lines).toContain("| Condition | NCR | ED | ET | WT | TC | Mean (NCR, ED, ET) |");
    const gansRow = lines.find((l) => l.startsWith("| 10 GANs |"));
    expect(gansRow).toContain("0.540 ± 0.040 (p=0.500)");
    expect(gansRow).toContain("0.700 ± 0.000 (p=1.000)");
    expect(lines.find((l) => l.startsWith("| real only (baseline) |"))).toContain("0.610 ± 0.010 |");
    expect(r.markdown).toMatch(/Bonferroni-corrected over 4 comparisons \(the primary family/);
    expect(r.markdown).toMatch(/\| 10 GANs \| real only \| WT \| secondary \|/);
  });

  it("says what one run per condition means: no spread over runs, p-values over subjects only", () => {
    const one = (c: ConditionInput): ConditionInput => ({ ...c, runMeanDice: c.runMeanDice.slice(0, 1) });
    const single = renderReport([one(real), one(gans)], { baseline: "real only", emptyPolicy: "both-empty-1" });
    expect(JSON.parse(single.jsonText).n_runs).toBe(1);
    expect(single.markdown).toMatch(/one training run per condition \(no standard deviation over runs/);
    expect(single.markdown).toMatch(/paired over the test subjects/);
    expect(r.markdown).toMatch(/mean ± standard deviation over 3 training runs/);
    expect(r.markdown).not.toMatch(/one training run per condition/);
  });

  it("writes summary and per-subject CSVs and the box plot PNG", () => {
    const summary = r.summaryCsv.trim().split("\n");
    expect(summary[0]).toBe("condition,class,dice_mean,dice_std,n_runs,n_subjects,p_value_vs_baseline,p_corrected");
    expect(summary).toHaveLength(1 + 2 * 5);
    expect(summary.find((l) => l.startsWith("10 GANs,NCR,"))).toMatch(/,0\.125,0\.5$/);
    expect(summary.find((l) => l.startsWith("real only,NCR,"))).toMatch(/,3,4,,$/);
    const per = r.perSubjectCsv.trim().split("\n");
    expect(per).toHaveLength(1 + 2 * 4 * 5);
    expect(per).toContain("10 GANs,mean,s1,NCR,0.4,,,,");
    const png = decodePng(r.figures["dice_boxplot.png"]);
    expect(png.width).toBeGreaterThan(100);
    // report.md links its figure (relative to the report, so it shows on disk, in a forge and in the console).
    expect(r.markdown).toContain("](dice_boxplot.png)");
  });

  it("rejects unknown baselines, duplicate names and conditions without shared subjects", () => {
    expect(() => renderReport([real, gans], { baseline: "nope" })).toThrow(/baseline condition "nope"/);
    expect(() => renderReport([real, real])).toThrow(/appears twice/);
    const other = { ...gans, subjectDice: [{ subjectId: "x", dice: { NCR: 0.5 } }] };
    expect(() => renderReport([real, other])).toThrow(/share no test subject/);
    expect(() => renderReport([])).toThrow(/at least one condition/);
  });
});

describe("conditionFromRuns", () => {
  it("averages subjects per run and runs per subject, and keeps full metrics for the CSV", () => {
    const v = (labels: number[]): LabelVolume => ({ data: Uint8Array.from(labels), shape: [1, 1, 4] });
    const truth = v([1, 1, 0, 0]);
    const m = (id: string, pred: number[]) => segmentationMetrics(id, v(pred), truth, [1, 1, 1]);
    // run 0: s1 NCR Dice 1, s2 2/3; run 1: s1 2/3, s2 0.
    const c = conditionFromRuns("cond", [
      [m("s1", [1, 1, 0, 0]), m("s2", [1, 0, 0, 0])],
      [m("s1", [1, 0, 0, 0]), m("s2", [0, 0, 0, 0])],
    ]);
    expect(c.runMeanDice[0].NCR).toBeCloseTo(5 / 6, 12);
    expect(c.runMeanDice[1].NCR).toBeCloseTo(1 / 3, 12);
    expect(c.subjectDice.find((s) => s.subjectId === "s1")?.dice.NCR).toBeCloseTo(5 / 6, 12);
    expect(c.subjectDice.find((s) => s.subjectId === "s2")?.dice.NCR).toBeCloseTo(1 / 3, 12);
    const csv = renderReport([c], { classes: ["NCR"] })
      .perSubjectCsv.trim()
      .split("\n");
    expect(csv[1]).toBe("cond,0,s1,NCR,1,0,1,1,none");
    expect(() => conditionFromRuns("empty", [])).toThrow(/no evaluated runs/);
  });
});
