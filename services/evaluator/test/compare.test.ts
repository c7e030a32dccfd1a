// Compare over gRPC on hand-made evaluations: Table-1 numbers, exact sign-flip p-values, Bonferroni, the
// report files, the local copy, and clear statuses for bad requests.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { Correction, JobState, TumorClass } from "@synthmri/contracts";
import type { ClassMetrics, SubjectMetrics } from "@synthmri/eval";
import { GrpcStatus } from "@synthmri/rpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeEvaluation } from "../src/domain/evaluation-store.js";
import { type Harness, startHarness } from "./fakes.js";
import { rpcFailure as failure } from "@synthmri/rpc/testing";

let h: Harness;

function subject(id: string, wtDice: number): SubjectMetrics {
  const m: ClassMetrics = {
    dice: wtDice,
    hd95: 1,
    sensitivity: 1,
    specificity: 1,
    tp: 1,
    fp: 0,
    fn: 0,
    tn: 1,
    emptyCase: "none",
  };
  return {
    subjectId: id,
    emptyPolicy: "both-empty-1",
    hd95OneEmpty: "diagonal",
    shape: [1, 1, 1],
    spacing: [1, 1, 1],
    classes: { WT: m },
  };
}

async function seed(
  id: string,
  dice: number[],
  condition: string,
  policy: "both-empty-1" | "nan-excluded" = "both-empty-1",
) {
  const subjects = dice.map((d, i) => ({ ...subject(`s${i}`, d), emptyPolicy: policy }));
  await writeEvaluation(
    h.artifacts,
    id,
    {
      modelId: `m-${id}`,
      modelVersion: 1,
      datasetId: "real-1",
      split: "test",
      condition,
      emptyPolicy: policy,
      hdPercentile: 95,
      tta: false,
      subjects: subjects.length,
      gapSlices: 0,
      summary: {},
    },
    subjects,
    [],
  );
}

beforeAll(async () => {
  h = await startHarness([]);
  // real: two runs; per-subject means over runs [0.85, 0.75, 0.65]; run means 0.7 and 0.8.
  await seed("ev-real-1", [0.8, 0.7, 0.6], "real");
  await seed("ev-real-2", [0.9, 0.8, 0.7], "real");
  // mixed: every subject +0.1 -> exact two-sided p = 2/8.
  await seed("ev-mixed-1", [0.95, 0.85, 0.75], "mixed");
  // synthetic: differences +0.1, -0.1, +0.2 -> |sum| >= 0.2 in 6 of 8 sign vectors -> p = 6/8.
  await seed("ev-syn-1", [0.95, 0.65, 0.85], "synthetic");
  await seed("ev-excl-1", [0.9, 0.9, 0.9], "other", "nan-excluded");
});
afterAll(async () => {
  await h?.close();
});

interface ReportJson {
  baseline: string;
  conditions: { name: string; n_runs: number; dice: Record<string, { mean: number; std: number }> }[];
  comparisons: {
    a: string;
    b: string;
    class: string;
    p_value: number;
    p_corrected: number;
    n: number;
    method: string;
  }[];
  empty_policy: string;
}

describe("Compare", () => {
  it("writes the Table-1 report with exact p-values, Bonferroni-corrected, and returns it through GetReport", async () => {
    const res = await h.evaluator.compare({
      conditions: [
        { name: "real", evaluationIds: ["ev-real-1", "ev-real-2"] },
        { name: "mixed", evaluationIds: ["ev-mixed-1"] },
        { name: "synthetic", evaluationIds: ["ev-syn-1"] },
      ],
      reference: "real",
      classes: [TumorClass.WT],
      title: "hand case",
      outputDir: h.dir,
    });
    const job = await h.waitJob(res.jobId);
    expect(job.errorMessage).toBe("");
    expect(job.state).toBe(JobState.SUCCEEDED);
    expect(job.outputs.report_id).toBe(res.reportId);

    const json = await h.artifacts.readJson<ReportJson>("report", res.reportId, "report.json");
    expect(json.baseline).toBe("real");
    expect(json.empty_policy).toBe("both-empty-1");
    const real = json.conditions.find((c) => c.name === "real")!;
    expect(real.n_runs).toBe(2);
    expect(real.dice.WT.mean).toBeCloseTo(0.75, 12);
    expect(real.dice.WT.std).toBeCloseTo(Math.SQRT2 * 0.05, 12);
    const byA = Object.fromEntries(json.comparisons.map((c) => [c.a, c]));
    expect(byA.mixed).toMatchObject({ b: "real", class: "WT", n: 3, method: "exact" });
    expect(byA.mixed.p_value).toBeCloseTo(0.25, 12);
    expect(byA.mixed.p_corrected).toBeCloseTo(0.5, 12);
    expect(byA.synthetic.p_value).toBeCloseTo(0.75, 12);
    expect(byA.synthetic.p_corrected).toBe(1);

    const { report } = await h.evaluator.getReport({ reportId: res.reportId });
    expect(report?.kind).toBe("compare");
    expect(report?.markdown).toMatch(/\| real \(baseline\) \| 0\.750 ± 0\.071 \|/);
    expect(report?.summary.p_corrected_real_vs_mixed_WT).toBeCloseTo(0.5, 12);
    expect(report?.files.map((f) => f.key.split("/").pop()).sort()).toEqual([
      "dice_boxplot.png",
      "per_subject.csv",
      "report.json",
      "report.md",
      "summary.csv",
    ]);
    const png = await h.artifacts.readFile("report", res.reportId, "dice_boxplot.png");
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    expect(report?.outputDir).toBe(join(h.dir, res.reportId));
    expect((await readdir(report!.outputDir)).sort()).toContain("report.md");
  });

  it("leaves p-values uncorrected with CORRECTION_NONE and says so", async () => {
    const res = await h.evaluator.compare({
      conditions: [
        { name: "real", evaluationIds: ["ev-real-1", "ev-real-2"] },
        { name: "mixed", evaluationIds: ["ev-mixed-1"] },
        { name: "synthetic", evaluationIds: ["ev-syn-1"] },
      ],
      classes: [TumorClass.WT],
      correction: Correction.NONE,
      // an extra pair besides both conditions vs real; its mirror image of a reference pair is not tested twice
      extraComparisons: [
        { a: "mixed", b: "synthetic" },
        { a: "real", b: "mixed" },
      ],
    });
    expect((await h.waitJob(res.jobId)).state).toBe(JobState.SUCCEEDED);
    const json = await h.artifacts.readJson<ReportJson & { correction: { method: string } }>(
      "report",
      res.reportId,
      "report.json",
    );
    expect(json.correction.method).toBe("none");
    const mixed = json.comparisons.find((c) => c.a === "mixed")!;
    expect(mixed.p_corrected).toBeCloseTo(0.25, 12);
    const extra = json.comparisons.filter((c) => c.a === "mixed" && c.b === "synthetic");
    expect(extra).toHaveLength(1);
    expect(extra[0]).toMatchObject({ class: "WT", n: 3 });
    const { report } = await h.evaluator.getReport({ reportId: res.reportId });
    expect(report?.markdown).toMatch(/not corrected for the 3 comparisons/);
    expect(report?.markdown).toMatch(/\| mixed \| synthetic \| WT \|/);
    expect(report?.markdown).not.toMatch(/Bonferroni/);
  });

  it("answers NOT_FOUND for unknown evaluations and INVALID_ARGUMENT for malformed requests", async () => {
    const unknown = await failure(
      h.evaluator.compare({ conditions: [{ name: "real", evaluationIds: ["ev-real-1", "nope"] }] }),
    );
    expect(unknown.code).toBe(GrpcStatus.NOT_FOUND);
    expect((await failure(h.evaluator.compare({ conditions: [] }))).code).toBe(GrpcStatus.INVALID_ARGUMENT);
    const dup = await failure(
      h.evaluator.compare({
        conditions: [
          { name: "a", evaluationIds: ["ev-real-1"] },
          { name: "a", evaluationIds: ["ev-mixed-1"] },
        ],
      }),
    );
    expect(dup.details).toMatch(/appears twice/);
    const pair = await failure(
      h.evaluator.compare({
        conditions: [{ name: "a", evaluationIds: ["ev-real-1"] }],
        extraComparisons: [{ a: "a", b: "zzz" }],
      }),
    );
    expect(pair.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(pair.details).toMatch(/extra comparison names unknown condition "zzz"/);
    const ref = await failure(
      h.evaluator.compare({ conditions: [{ name: "a", evaluationIds: ["ev-real-1"] }], reference: "zzz" }),
    );
    expect(ref.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    const corr = await failure(
      h.evaluator.compare({ conditions: [{ name: "a", evaluationIds: ["ev-real-1"] }], correction: 9 as Correction }),
    );
    expect(corr.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    const rel = await failure(
      h.evaluator.compare({ conditions: [{ name: "a", evaluationIds: ["ev-real-1"] }], outputDir: "relative/dir" }),
    );
    expect(rel.details).toMatch(/absolute path/);
    expect((await failure(h.evaluator.getReport({ reportId: "20990101-000000-deadbeef" }))).code).toBe(
      GrpcStatus.NOT_FOUND,
    );
  });

  it("fails the job when evaluations used different empty-case policies", async () => {
    const res = await h.evaluator.compare({
      conditions: [
        { name: "real", evaluationIds: ["ev-real-1"] },
        { name: "other", evaluationIds: ["ev-excl-1"] },
      ],
    });
    const job = await h.waitJob(res.jobId);
    expect(job.state).toBe(JobState.FAILED);
    expect(job.errorCode).toBe("INVALID_ARGUMENT");
    expect(job.errorMessage).toMatch(/empty-case policy/);
  });
});
