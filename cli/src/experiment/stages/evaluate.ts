// Stage 5, evaluate: every run's model of a condition on the real dataset's test subjects (one evaluation each).
import { EmptyCasePolicy, Split } from "@synthmri/contracts";
import { followJob } from "../follow-job.js";
import type { ExperimentContext } from "./context.js";
import type { DataRefs } from "./data.js";
import { exists, rowState, submit } from "./job-calls.js";
import type { ModelRefs } from "./segment.js";

export interface EvaluationRefs {
  condition: string;
  /** One evaluation per model, in run order. */
  evaluationIds: string[];
}

export const evaluateRow = (condition: string) => `eval-${condition}`;

export function addEvaluateRows(ctx: ExperimentContext, conditions: string[]): void {
  for (const c of conditions) ctx.board.add(evaluateRow(c), `evaluate ${c}`, ctx.where("evaluator"));
}

export async function evaluateCondition(
  ctx: ExperimentContext,
  models: ModelRefs,
  data: DataRefs,
): Promise<EvaluationRefs> {
  const { spec, clients, board } = ctx;
  const { condition, modelIds } = models;
  const { datasetId } = data;
  const row = evaluateRow(condition);
  board.update(row, { state: "queued" });
  const ids: string[] = [];
  let done = 0;
  for (const modelId of modelIds) {
    const out = await ctx.runStage({
      log: `evaluate:${condition}:${done + 1}`,
      stage: "evaluate",
      material: {
        modelId,
        datasetId,
        split: "test",
        emptyCasePolicy: spec.evaluation.emptyCasePolicy,
        tta: spec.evaluation.tta,
        condition,
      },
      produce: async (stage) => {
        const res = await submit(() =>
          clients.evaluator.evaluate({
            modelId,
            datasetId,
            split: Split.TEST,
            emptyCasePolicy: spec.evaluation.emptyCasePolicy === "one" ? EmptyCasePolicy.ONE : EmptyCasePolicy.EXCLUDE,
            tta: spec.evaluation.tta,
            condition,
          }),
        );
        await stage.markPending("evaluator", res.jobId, { evaluationId: res.evaluationId, jobId: res.jobId });
        await followJob(clients.jobs.evaluator, "evaluator", res.jobId, {
          signal: ctx.signal,
          onStatus: (j) =>
            board.update(row, {
              state: rowState(j.state) === "done" ? "running" : rowState(j.state),
              fraction: (done + (j.progress?.fraction ?? 0)) / modelIds.length,
              message: `model ${done + 1}/${modelIds.length} ${j.progress?.message ?? ""}`,
            }),
        });
        return { evaluationId: res.evaluationId, jobId: res.jobId };
      },
      verify: (r) => exists(() => clients.evaluator.getEvaluation({ evaluationId: r.evaluationId })),
      resume: ctx.resumeJob("evaluator", row),
    });
    ids.push(out.result.evaluationId);
    done++;
    board.update(row, { fraction: done / modelIds.length });
  }
  const ev = await clients.evaluator.getEvaluation({ evaluationId: ids[ids.length - 1] as string });
  const dice = ev.evaluation?.dice ?? {};
  board.update(row, {
    state: "done",
    message: ["NCR", "ED", "ET"].map((c) => `${c} ${(dice[c]?.mean ?? Number.NaN).toFixed(2)}`).join(" "),
  });
  return { condition, evaluationIds: ids };
}

/**
 * The intensity-only baseline's row: the evaluator fits the per-pixel classifier on the real train split and
 * scores it on the test subjects like a model (one deterministic "run").
 */
export async function evaluateIntensityBaseline(
  ctx: ExperimentContext,
  data: DataRefs,
  condition: string,
): Promise<EvaluationRefs> {
  const { spec, clients } = ctx;
  const { datasetId } = data;
  const row = evaluateRow(condition);
  const out = await ctx.runStage({
    log: `evaluate:${condition}`,
    stage: "evaluate-baseline",
    material: { datasetId, split: "test", emptyCasePolicy: spec.evaluation.emptyCasePolicy, condition },
    produce: async (stage) => {
      const res = await submit(() =>
        clients.evaluator.evaluate({
          modelId: "",
          intensityBaseline: true,
          datasetId,
          split: Split.TEST,
          emptyCasePolicy: spec.evaluation.emptyCasePolicy === "one" ? EmptyCasePolicy.ONE : EmptyCasePolicy.EXCLUDE,
          condition,
        }),
      );
      await stage.markPending("evaluator", res.jobId, { evaluationId: res.evaluationId, jobId: res.jobId });
      await ctx.watch("evaluator", res.jobId, row);
      return { evaluationId: res.evaluationId, jobId: res.jobId };
    },
    verify: (r) => exists(() => clients.evaluator.getEvaluation({ evaluationId: r.evaluationId })),
    resume: ctx.resumeJob("evaluator", row),
  });
  const ev = await clients.evaluator.getEvaluation({ evaluationId: out.result.evaluationId });
  const dice = ev.evaluation?.dice ?? {};
  ctx.board.update(row, {
    state: out.how === "cached" ? "cached" : "done",
    message: ["NCR", "ED", "ET", "WT"].map((c) => `${c} ${(dice[c]?.mean ?? Number.NaN).toFixed(2)}`).join(" "),
  });
  return { condition, evaluationIds: [out.result.evaluationId] };
}
