// The experiment's driver: it orders the stages (stages/*.ts), all of which work through the services' gRPC APIs:
//   data (phantom or --data -> ingest) -> GAN ensemble -> synthetic datasets from 1..N members
//   -> per condition: U-Nets (R runs) -> evaluation on the real test split -> report (Compare).
// A condition starts as soon as its training datasets exist (the real-only U-Net trains while the GANs train:
// they are different processes, so both cores work). Every stage goes through the StageCache.
import type { ProgressBoard } from "../ui/progress-board.js";
import type { ServiceClients } from "./clients.js";
import { ProgressHistory } from "./progress-history.js";
import { type ConditionPlan, type ExperimentSpec, type TrainingSource, planConditions } from "./spec.js";
import type { StageCache } from "./stage-cache.js";
import { type ExperimentContext, experimentContext } from "./stages/context.js";
import { addEvaluateRows } from "./stages/evaluate.js";
import { addGanRows } from "./stages/gan.js";
import { EXPERIMENT_STAGES, type EvaluationRefs, type ExperimentStages, type StageLog } from "./stages/index.js";
import { addReportRow } from "./stages/report.js";
import { addSegmentRows } from "./stages/segment.js";
import { addSyntheticRows } from "./stages/synthesize.js";
import type { Report } from "@synthmri/contracts";

export type { StageLog } from "./stages/index.js";

export interface RunExperimentOptions {
  spec: ExperimentSpec;
  experimentId: string;
  clients: ServiceClients;
  cache: StageCache;
  board: ProgressBoard;
  /** Where phantom cohorts are written (must be readable by the ingest service). */
  workDir: string;
  /** The experiment's output directory (out/<id>); handed to Compare when the evaluator is local. */
  outDir: string;
  evaluatorWritesOutDir: boolean;
  signal?: AbortSignal;
}

export interface ExperimentResult {
  datasetId: string;
  cohort: Record<string, unknown>;
  ensembleId: string;
  memberJobIds: string[];
  synthetic: Record<string, string>;
  models: Record<string, string[]>;
  evaluations: Record<string, string[]>;
  reportId: string;
  report: Report;
  stages: StageLog[];
  history: ProgressHistory;
}

export async function runExperiment(
  o: RunExperimentOptions,
  stages: ExperimentStages = EXPERIMENT_STAGES,
): Promise<ExperimentResult> {
  const ctx = experimentContext({ ...o, history: new ProgressHistory() });
  const { spec } = ctx;
  const plan = planConditions(spec);
  const run = failFast();

  const data = await stages.data(ctx);
  addPlanRows(ctx, plan);

  // Each condition: train, then evaluate; started once every source dataset it trains on exists.
  const datasets = new Map<string, string>([[sourceKey({ kind: "real" }), data.datasetId]]);
  const models: Record<string, string[]> = {};
  const started = new Map<string, Promise<EvaluationRefs>>();
  const conditionPipeline = async (c: ConditionPlan, datasetIds: string[]) => {
    const trained = await stages.segment(ctx, c.name, datasetIds);
    models[c.name] = trained.modelIds;
    return stages.evaluate(ctx, trained, data);
  };
  const startReadyConditions = () => {
    for (const c of plan) {
      if (started.has(c.name)) continue;
      const ids = c.sources.map((s) => datasets.get(sourceKey(s)));
      if (ids.every((id) => id !== undefined)) started.set(c.name, run.track(conditionPipeline(c, ids as string[])));
    }
  };
  startReadyConditions(); // real-only runs alongside the GANs

  const gan = await run.orFail(stages.gan(ctx, data));
  const synthetic: Record<string, string> = {};
  for (const k of spec.synthetic.ensembleSizes) {
    const set = await run.orFail(stages.synthesize(ctx, gan, k));
    synthetic[String(k)] = set.datasetId;
    datasets.set(sourceKey({ kind: "synthetic", members: k }), set.datasetId);
    startReadyConditions();
  }

  const evaluated = await run.orFail(Promise.all(plan.map((c) => started.get(c.name) ?? neverStarted(c))));
  const report = await stages.report(ctx, evaluated);

  return {
    datasetId: data.datasetId,
    cohort: data.cohort,
    ensembleId: gan.ensembleId,
    memberJobIds: gan.memberJobIds,
    synthetic,
    models: Object.fromEntries(plan.map((c) => [c.name, models[c.name] ?? []])),
    evaluations: Object.fromEntries(evaluated.map((e) => [e.condition, e.evaluationIds])),
    reportId: report.reportId,
    report: report.report,
    stages: ctx.stages,
    history: ctx.history,
  };
}

/** Rows for everything after the data stage, so the whole plan is visible from the start. */
function addPlanRows(ctx: ExperimentContext, plan: ConditionPlan[]): void {
  const conditions = plan.map((c) => c.name);
  addGanRows(ctx);
  addSyntheticRows(ctx);
  addSegmentRows(ctx, conditions);
  addEvaluateRows(ctx, conditions);
  addReportRow(ctx);
}

function sourceKey(s: TrainingSource): string {
  return s.kind === "real" ? "real" : `synthetic-${s.members}`;
}

function neverStarted(c: ConditionPlan): Promise<never> {
  return Promise.reject(
    new Error(`condition ${c.name} trains on ${c.sources.map(sourceKey).join(" + ")}, which no stage produced`),
  );
}

/**
 * Stages run concurrently; the first failure anywhere fails the whole run at once (no unhandled rejection, no
 * waiting for unrelated stages that can no longer matter). `track` a background stage; `orFail` an awaited one.
 */
function failFast() {
  let fail: (err: unknown) => void = () => {};
  const failure = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failure.catch(() => undefined);
  return {
    track<T>(p: Promise<T>): Promise<T> {
      p.catch((err) => fail(err));
      return p;
    },
    orFail<T>(p: Promise<T>): Promise<T> {
      return Promise.race([p, failure]);
    },
  };
}
