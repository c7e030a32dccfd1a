// Stage 6, report: the evaluator's Compare over every condition's evaluations: the hypotheses of planHypotheses
// (those vs real as the reference, the others as extra pairs) in the primary family, the controls in their own.
import { Correction, type Report } from "@synthmri/contracts";
import { type ConditionPlan, planConditions, planHypotheses } from "../plan.js";
import type { ExperimentSpec } from "../spec.js";
import type { ExperimentContext } from "./context.js";
import type { EvaluationRefs } from "./evaluate.js";
import { exists, submit } from "./job-calls.js";

export interface ReportRefs {
  reportId: string;
  report: Report;
}

export const REPORT_ROW = "compare";

export function addReportRow(ctx: ExperimentContext): void {
  ctx.board.add(REPORT_ROW, "compare conditions", ctx.where("evaluator"));
}

/**
 * The pairs Compare tests besides "every hypothesis row vs real": hypotheses between two non-reference rows
 * (N GANs vs 1, N vs N/2) and the controls (family "control"). Baseline and control rows are descriptive.
 */
export function extraComparisons(spec: ExperimentSpec): { a: string; b: string; family: string }[] {
  return planHypotheses(spec)
    .filter((h) => h.a !== "real" && h.b !== "real")
    .map((h) => ({ a: h.a, b: h.b, family: h.family === "control" ? "control" : "" }));
}

function isDescriptive(plan: ConditionPlan[], name: string): boolean {
  return plan.find((c) => c.name === name)?.role !== "hypothesis";
}

/** `evaluations` in condition order (the report's order); the condition named "real" is the reference. */
export async function compareConditions(ctx: ExperimentContext, evaluations: EvaluationRefs[]): Promise<ReportRefs> {
  const { spec, clients } = ctx;
  const plan = planConditions(spec);
  const conditions = evaluations.map((e) => ({
    name: e.condition,
    evaluationIds: e.evaluationIds,
    ...(isDescriptive(plan, e.condition) ? { descriptive: true } : {}),
  }));
  const extra = extraComparisons(spec);
  const out = await ctx.runStage({
    log: "compare",
    stage: "compare",
    material: {
      conditions,
      permutationSamples: spec.evaluation.permutationSamples,
      seed: spec.seed,
      ...(extra.length ? { extraComparisons: extra } : {}),
    },
    produce: async (stage) => {
      const res = await submit(() =>
        clients.evaluator.compare({
          conditions,
          reference: "real",
          extraComparisons: extra,
          permutation: { samples: spec.evaluation.permutationSamples, seed: spec.seed },
          correction: Correction.BONFERRONI,
          title: `${spec.name}: U-Net Dice on real test subjects by training data`,
          outputDir: ctx.evaluatorWritesOutDir ? ctx.outDir : "",
        }),
      );
      await stage.markPending("evaluator", res.jobId, { reportId: res.reportId, jobId: res.jobId });
      await ctx.watch("evaluator", res.jobId, REPORT_ROW);
      return { reportId: res.reportId, jobId: res.jobId };
    },
    verify: (r) => exists(() => clients.evaluator.getReport({ reportId: r.reportId })),
    resume: ctx.resumeJob("evaluator", REPORT_ROW),
  });
  const { reportId } = out.result;
  const got = await clients.evaluator.getReport({ reportId });
  if (!got.report) throw new Error(`evaluator returned no report for ${reportId}`);
  ctx.finishRow(REPORT_ROW, out.how, `report ${reportId}`);
  return { reportId, report: got.report };
}
