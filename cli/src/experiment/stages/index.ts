// The experiment's stages, one module each (nnU-Net's plan / preprocess / train / predict / evaluate is the
// model): each is a function (context, input refs) -> output refs that runs through the StageCache.
import type { ControlGanPlan } from "../plan.js";
import type { ExperimentContext } from "./context.js";
import { type DataRefs, ingestCohort } from "./data.js";
import { type EvaluationRefs, evaluateCondition, evaluateIntensityBaseline } from "./evaluate.js";
import { type GanRefs, trainControlGan, trainGanEnsemble } from "./gan.js";
import { type ReportRefs, compareConditions } from "./report.js";
import { type QualityRefs, memorizationCheck } from "./quality.js";
import { type ModelRefs, trainCondition } from "./segment.js";
import { type SyntheticRefs, synthesizeDataset } from "./synthesize.js";

export type { DataRefs, EvaluationRefs, GanRefs, ModelRefs, QualityRefs, ReportRefs, SyntheticRefs };
export type { ExperimentContext, StageLog } from "./context.js";

export interface ExperimentStages {
  /** The real cohort, ingested and split. */
  data(ctx: ExperimentContext): Promise<DataRefs>;
  /** The GAN ensemble trained on the real train split. */
  gan(ctx: ExperimentContext, data: DataRefs): Promise<GanRefs>;
  /** One control GAN (an ensemble of one) trained on some of the train subjects. */
  controlGan(ctx: ExperimentContext, data: DataRefs, plan: ControlGanPlan): Promise<GanRefs>;
  /** A synthetic dataset from the given members of an ensemble; `label` names its source (board row). */
  synthesize(ctx: ExperimentContext, gan: GanRefs, members: number[], label: string): Promise<SyntheticRefs>;
  /** The memorization gate, calibrated on real held-out slices, on one synthetic dataset of `source`. */
  quality(ctx: ExperimentContext, data: DataRefs, source: string, datasetId: string): Promise<QualityRefs>;
  /** The U-Net runs of one condition; run r trains on `runs[r]`. */
  segment(ctx: ExperimentContext, condition: string, runs: string[][], realDatasetId?: string): Promise<ModelRefs>;
  /** Every model of a condition on the real test split. */
  evaluate(ctx: ExperimentContext, models: ModelRefs, data: DataRefs): Promise<EvaluationRefs>;
  /** The intensity-only classifier (fitted on the real train split) on the real test split. */
  baseline(ctx: ExperimentContext, data: DataRefs, condition: string): Promise<EvaluationRefs>;
  /** The comparison of all conditions (in report order). */
  report(ctx: ExperimentContext, evaluations: EvaluationRefs[]): Promise<ReportRefs>;
}

export const EXPERIMENT_STAGES: ExperimentStages = {
  data: ingestCohort,
  gan: trainGanEnsemble,
  controlGan: trainControlGan,
  synthesize: synthesizeDataset,
  quality: memorizationCheck,
  segment: trainCondition,
  evaluate: evaluateCondition,
  baseline: evaluateIntensityBaseline,
  report: compareConditions,
};
