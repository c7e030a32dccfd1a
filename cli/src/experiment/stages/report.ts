// Stage 6, report: the evaluator's Compare over every condition's evaluations (each vs real, plus N GANs vs 1).
import { Correction, type Report } from "@synthmri/contracts";
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

/** Besides every condition vs real: each ensemble of N > 1 GANs vs one GAN (the seed's "N GANs > 1 GAN"). */
export function extraComparisons(spec: ExperimentSpec): { a: string; b: string }[] {
  return spec.synthetic.ensembleSizes.includes(1)
    ? spec.synthetic.ensembleSizes.filter((k) => k > 1).map((k) => ({ a: `synthetic-${k}`, b: "synthetic-1" }))
    : [];
}

/** `evaluations` in condition order (the report's order); the condition named "real" is the reference. */
export async function compareConditions(ctx: ExperimentContext, evaluations: EvaluationRefs[]): Promise<ReportRefs> {
  const { spec, clients } = ctx;
  const conditions = evaluations.map((e) => ({ name: e.condition, evaluationIds: e.evaluationIds }));
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
