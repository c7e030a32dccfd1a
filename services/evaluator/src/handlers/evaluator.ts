// synthmri.evaluator.v1.EvaluatorService: validate, check what exists (so unknown ids answer NOT_FOUND at
// once), start the job, return its id with the id of the artifact it will write.
import type { EvaluatorService } from "@synthmri/contracts";
import { InvalidInput, newArtifactId } from "@synthmri/platform";
import { DEFAULT_NCC_THRESHOLD, SEG_CLASSES } from "@synthmri/eval";
import type { ServiceImpl } from "@synthmri/rpc";
import { checkCompareParams, type CompareParams } from "../domain/compare.js";
import { checkEvaluateParams, type EvaluateParams, subjectsOfSplit } from "../domain/evaluate.js";
import { readEvaluation } from "../domain/evaluation-store.js";
import { INTENSITY_BASELINE_MODEL } from "../domain/intensity-baseline.js";
import type { MemorizationParams } from "../domain/memorization.js";
import type { QualityParams } from "../domain/quality.js";
import { readReport } from "../domain/report-store.js";
import type { EvaluatorDeps } from "../deps.js";
import {
  channelsFromProto,
  correctionFromProto,
  classesFromProto,
  emptyPolicyFromProto,
  emptyPolicyToProto,
} from "./convert.js";
import { objectRefToProto, splitFromProto, splitToProto } from "@synthmri/rpc";
import { JOB_KINDS, jobWorks } from "./job-work.js";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";

function required(value: string, field: string): string {
  if (!value.trim()) throw new InvalidInput(`${field} is empty`);
  return value;
}

export function evaluatorHandlers(deps: EvaluatorDeps): ServiceImpl<(typeof EvaluatorService)["method"]> {
  const works = jobWorks(deps);
  return {
    async evaluate(req, ctx) {
      const params: EvaluateParams = {
        evaluationId: newArtifactId(),
        modelId: req.intensityBaseline ? INTENSITY_BASELINE_MODEL : req.modelId,
        modelVersion: req.modelVersion,
        intensityBaseline: req.intensityBaseline,
        datasetId: req.datasetId,
        split: splitFromProto(req.split, "test"),
        emptyPolicy: emptyPolicyFromProto(req.emptyCasePolicy),
        condition: req.condition,
        tta: req.tta,
        hdPercentile: req.hdPercentile || 95,
      };
      checkEvaluateParams(params);
      const dataset = await deps.source.describe(params.datasetId, { signal: ctx.signal });
      subjectsOfSplit(params.datasetId, dataset.subjects, params.split);
      // The baseline is fitted in the job; a model must exist now (NOT_FOUND as the RPC's answer, not a failed job).
      if (!params.intensityBaseline)
        await deps.segmenter.prepare(params.modelId, params.modelVersion, { signal: ctx.signal });
      const jobId = deps.jobs.start(JOB_KINDS.evaluate, params, works.evaluate);
      return { jobId, evaluationId: params.evaluationId };
    },

    async getEvaluation(req) {
      const ev = await readEvaluation(deps.artifacts, required(req.evaluationId, "evaluation_id"));
      const pick = (metric: "dice" | "hd95" | "sensitivity" | "specificity") => {
        const out: Record<string, { mean: number; std: number; n: number; median: number }> = {};
        for (const cls of SEG_CLASSES) {
          const s = ev.info.summary[cls]?.[metric];
          if (s) out[cls] = { mean: s.mean, std: s.std, n: s.n, median: s.median };
        }
        return out;
      };
      return {
        evaluation: {
          id: ev.id,
          modelId: ev.info.modelId,
          modelVersion: ev.info.modelVersion,
          datasetId: ev.info.datasetId,
          split: splitToProto(ev.info.split),
          condition: ev.info.condition,
          emptyCasePolicy: emptyPolicyToProto(ev.info.emptyPolicy),
          dice: pick("dice"),
          hd95: pick("hd95"),
          sensitivity: pick("sensitivity"),
          specificity: pick("specificity"),
          subjects: ev.info.subjects,
          artifacts: ev.files.map((f) => objectRefToProto(f)),
          createdAt: timestampFromDate(new Date(ev.createdAt)),
        },
      };
    },

    async compare(req) {
      const p = req.permutation;
      const params: CompareParams = {
        reportId: newArtifactId(),
        conditions: req.conditions.map((c) => ({
          name: c.name,
          evaluationIds: [...c.evaluationIds],
          descriptive: c.descriptive,
        })),
        reference: req.reference,
        classes: classesFromProto(req.classes),
        correction: correctionFromProto(req.correction),
        permutation: { maxExact: p?.maxExact || undefined, samples: p?.samples || undefined, seed: p?.seed ?? 0 },
        title: req.title,
        outputDir: req.outputDir,
        extraComparisons: req.extraComparisons.map((x) => ({ a: x.a, b: x.b, family: familyFromProto(x.family) })),
      };
      checkCompareParams(params);
      // Unknown evaluations answer NOT_FOUND now rather than as a failed job.
      for (const c of params.conditions) for (const id of c.evaluationIds) await readEvaluation(deps.artifacts, id);
      const jobId = deps.jobs.start(JOB_KINDS.compare, params, works.compare);
      return { jobId, reportId: params.reportId };
    },

    async qualityReport(req, ctx) {
      const params: QualityParams = {
        reportId: newArtifactId(),
        syntheticDatasetId: required(req.syntheticDatasetId, "synthetic_dataset_id"),
        realDatasetId: required(req.realDatasetId, "real_dataset_id"),
        realSplit: splitFromProto(req.realSplit, "train"),
        maxSamples: req.maxSamples,
        seed: req.seed,
      };
      await deps.source.describe(params.syntheticDatasetId, { signal: ctx.signal });
      await deps.source.describe(params.realDatasetId, { signal: ctx.signal });
      const jobId = deps.jobs.start(JOB_KINDS.quality, params, works.quality);
      return { jobId, reportId: params.reportId };
    },

    async memorizationReport(req, ctx) {
      if (req.nccThreshold !== 0 && !(req.nccThreshold > -1 && req.nccThreshold <= 1))
        throw new InvalidInput(
          `ncc_threshold ${req.nccThreshold} must be in (-1, 1] (0 = the default ${DEFAULT_NCC_THRESHOLD})`,
        );
      const params: MemorizationParams = {
        reportId: newArtifactId(),
        syntheticDatasetId: required(req.syntheticDatasetId, "synthetic_dataset_id"),
        realDatasetId: required(req.realDatasetId, "real_dataset_id"),
        nccThreshold: req.nccThreshold,
        channels: channelsFromProto(req.channels),
        maxSamples: req.maxSamples,
        calibratePercentile: req.calibratePercentile,
      };
      const pct = req.calibratePercentile;
      if (pct !== 0) {
        if (params.nccThreshold !== 0)
          throw new InvalidInput(
            "give ncc_threshold or calibrate_percentile, not both (calibration sets the threshold)",
          );
        if (!(pct > 0 && pct <= 100))
          throw new InvalidInput(`calibrate_percentile ${pct} must be in (0, 100] (e.g. 99)`);
      }
      await deps.source.describe(params.syntheticDatasetId, { signal: ctx.signal });
      await deps.source.describe(params.realDatasetId, { signal: ctx.signal });
      const jobId = deps.jobs.start(JOB_KINDS.memorization, params, works.memorization);
      return { jobId, reportId: params.reportId };
    },

    async getReport(req) {
      const r = await readReport(deps.artifacts, required(req.reportId, "report_id"));
      return {
        report: {
          id: r.id,
          kind: r.kind,
          files: r.files.map((f) => objectRefToProto(f)),
          summary: r.summary,
          createdAt: timestampFromDate(new Date(r.createdAt)),
          outputDir: r.outputDir,
          markdown: r.markdown,
        },
      };
    },
  };
}

/** ConditionPair.family: "" = primary, "control" = controls; anything else is a caller's typo. */
function familyFromProto(f: string): "primary" | "control" {
  if (f === "" || f === "primary") return "primary";
  if (f === "control") return "control";
  throw new InvalidInput(`extra_comparisons family "${f}" is unknown; use "" (primary) or "control"`);
}
