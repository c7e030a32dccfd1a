// The experiment's driver: it orders the stages (stages/*.ts), all of which work through the services' gRPC APIs:
//   data (phantom or --data -> ingest) -> GAN ensemble (+ control GANs) -> synthetic datasets (each U-Net run
//   draws its own GANs) -> per condition: U-Nets (R runs) -> evaluation on the real test split -> report.
// A condition starts as soon as its training datasets exist (the real-only U-Net trains while the GANs train:
// they are different processes, so both cores work). Every stage goes through the StageCache.
import type { ProgressBoard } from "../ui/progress-board.js";
import type { ServiceClients } from "./clients.js";
import {
  CONTROL_CONDITION,
  type ConditionPlan,
  type TrainingSource,
  drawMembers,
  planConditions,
  planControlGans,
} from "./plan.js";
import { ProgressHistory } from "./progress-history.js";
import type { ExperimentSpec } from "./spec.js";
import type { StageCache } from "./stage-cache.js";
import { type ExperimentContext, experimentContext } from "./stages/context.js";
import { addEvaluateRows } from "./stages/evaluate.js";
import { addGanRows } from "./stages/gan.js";
import {
  EXPERIMENT_STAGES,
  type EvaluationRefs,
  type ExperimentStages,
  type GanRefs,
  type QualityRefs,
  type StageLog,
} from "./stages/index.js";
import { addQualityRow, qualityRow } from "./stages/quality.js";
import { addReportRow } from "./stages/report.js";
import { addSegmentRows } from "./stages/segment.js";
import { addSyntheticRows } from "./stages/synthesize.js";
import type { Report } from "@synthmri/contracts";
import type { ScaleOut } from "../kube/scale-out.js";

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
  /** Where U-Net runs train when not in the segmenter service (cli/src/kube). */
  scaleOut?: ScaleOut;
}

export interface ExperimentResult {
  datasetId: string;
  cohort: Record<string, unknown>;
  ensembleId: string;
  memberJobIds: string[];
  /** Control GAN -> its ensemble (of one) id. */
  controlGans: Record<string, string>;
  /** Synthetic source ("synthetic-3", "control-half-a-gan") -> the dataset each U-Net run trained on. */
  synthetic: Record<string, string[]>;
  /** Synthetic source -> the ensemble members each run drew. */
  draws: Record<string, number[][]>;
  /** Synthetic source -> the calibrated memorization check of its first run's dataset. */
  quality: QualityRefs[];
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
  const runs = spec.segmenter.runs;
  const run = failFast();

  const data = await stages.data(ctx);
  const controls = planControlGans(spec, data.trainSubjectKeys);
  addPlanRows(
    ctx,
    plan,
    controls.map((c) => c.gan),
  );

  // Per source, the dataset each U-Net run trains on. Each condition trains, then evaluates; it starts once
  // every source it trains on exists.
  const datasets = new Map<string, string[]>([[sourceKey({ kind: "real" }), Array(runs).fill(data.datasetId)]]);
  const synthetic: Record<string, string[]> = {};
  const draws: Record<string, number[][]> = {};
  const models: Record<string, string[]> = {};
  const started = new Map<string, Promise<EvaluationRefs>>();
  const checks: Promise<QualityRefs>[] = [];
  const checkQuality = (source: string, datasetId: string) => {
    checks.push(run.track(stages.quality(ctx, data, source, datasetId)));
  };
  const conditionPipeline = async (c: ConditionPlan, perRun: string[][]) => {
    const trained = await stages.segment(ctx, c.name, perRun, data.datasetId);
    models[c.name] = trained.modelIds;
    return stages.evaluate(ctx, trained, data);
  };
  const startReadyConditions = () => {
    for (const c of plan) {
      if (started.has(c.name)) continue;
      if (c.role === "baseline") {
        started.set(c.name, run.track(stages.baseline(ctx, data, c.name)));
        continue;
      }
      const sets = c.sources.map((s) => datasets.get(sourceKey(s)));
      if (sets.every((ids) => ids !== undefined)) {
        const perRun = Array.from({ length: runs }, (_, r) => (sets as string[][]).map((ids) => ids[r] as string));
        started.set(c.name, run.track(conditionPipeline(c, perRun)));
      }
    }
  };
  startReadyConditions(); // real-only (and the baseline) run alongside the GANs

  const controlGans: Record<string, string> = {};
  const controlsDone = Promise.all(
    controls.map((cp) =>
      run.track(
        (async () => {
          const g = await stages.controlGan(ctx, data, cp);
          controlGans[cp.gan] = g.ensembleId;
          const key = sourceKey({ kind: "control-gan", gan: cp.gan });
          const set = await stages.synthesize(ctx, g, [0], CONTROL_CONDITION[cp.gan]);
          datasets.set(key, Array(runs).fill(set.datasetId));
          checkQuality(key, set.datasetId);
          synthetic[key] = Array(runs).fill(set.datasetId);
          draws[key] = Array(runs).fill([0]);
          startReadyConditions();
        })(),
      ),
    ),
  );

  const gan = await run.orFail(stages.gan(ctx, data));
  for (const k of spec.synthetic.ensembleSizes) {
    const key = sourceKey({ kind: "synthetic", members: k });
    const picks = Array.from({ length: runs }, (_, r) => drawMembers(spec.seed, r, k, spec.gan.members));
    const ids = await run.orFail(synthesizeDraws(ctx, stages, gan, picks, key));
    datasets.set(key, ids);
    checkQuality(key, ids[0] as string);
    synthetic[key] = ids;
    draws[key] = picks;
    startReadyConditions();
  }
  await run.orFail(controlsDone);

  const evaluated = await run.orFail(Promise.all(plan.map((c) => started.get(c.name) ?? neverStarted(c))));
  const quality = await run.orFail(Promise.all(checks));
  ctx.board.update(qualityRow, { state: "done", message: `${quality.length} synthetic sources checked` });
  const report = await stages.report(ctx, evaluated);

  return {
    datasetId: data.datasetId,
    cohort: data.cohort,
    ensembleId: gan.ensembleId,
    memberJobIds: gan.memberJobIds,
    controlGans,
    synthetic,
    draws,
    quality,
    models: Object.fromEntries(plan.map((c) => [c.name, models[c.name] ?? []])),
    evaluations: Object.fromEntries(evaluated.map((e) => [e.condition, e.evaluationIds])),
    reportId: report.reportId,
    report: report.report,
    stages: ctx.stages,
    history: ctx.history,
  };
}

/** One dataset per distinct draw (runs that drew the same members share it), in run order. */
async function synthesizeDraws(
  ctx: ExperimentContext,
  stages: ExperimentStages,
  gan: GanRefs,
  picks: number[][],
  label: string,
): Promise<string[]> {
  const byDraw = new Map<string, string>();
  for (const members of picks) {
    const k = members.join(",");
    if (!byDraw.has(k)) byDraw.set(k, (await stages.synthesize(ctx, gan, members, label)).datasetId);
  }
  ctx.board.update(`syn-${label}`, {
    state: "done",
    message: `${byDraw.size} draw(s): ${[...byDraw.keys()].join(" | ")}`,
  });
  return picks.map((m) => byDraw.get(m.join(",")) as string);
}

/** Rows for everything after the data stage, so the whole plan is visible from the start. */
function addPlanRows(ctx: ExperimentContext, plan: ConditionPlan[], controls: Parameters<typeof addGanRows>[1]): void {
  const conditions = plan.map((c) => c.name);
  const trained = plan.filter((c) => c.role !== "baseline").map((c) => c.name);
  const syntheticLabels = [
    ...ctx.spec.synthetic.ensembleSizes.map((k) => sourceKey({ kind: "synthetic", members: k })),
    ...(controls ?? []).map((g) => CONTROL_CONDITION[g]),
  ];
  addGanRows(ctx, controls);
  addSyntheticRows(ctx, syntheticLabels);
  addQualityRow(ctx);
  addSegmentRows(ctx, trained);
  addEvaluateRows(ctx, conditions);
  addReportRow(ctx);
}

function sourceKey(s: TrainingSource): string {
  if (s.kind === "real") return "real";
  if (s.kind === "synthetic") return `synthetic-${s.members}`;
  return CONTROL_CONDITION[s.gan];
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
