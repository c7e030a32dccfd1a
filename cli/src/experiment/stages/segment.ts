// Stage 4, segment: R U-Net runs per condition on that condition's training datasets (equal mixture).
import { Mixture, Split, ValidationScheme } from "@synthmri/contracts";
import { jobNameOf, type UnetRunsRequest } from "../../kube/scale-out.js";
import { followJob } from "../follow-job.js";
import { runSeed } from "../plan.js";
import type { ExperimentSpec } from "../spec.js";
import type { ExperimentContext } from "./context.js";
import { isNotFound, submit } from "./job-calls.js";

export interface ModelRefs {
  condition: string;
  /** One model per run, in run order. */
  modelIds: string[];
}

export const segmentRow = (condition: string) => `train-${condition}`;

export function addSegmentRows(ctx: ExperimentContext, conditions: string[]): void {
  for (const c of conditions)
    ctx.board.add(segmentRow(c), `U-Net ${c} x${ctx.spec.segmenter.runs}`, ctx.where("segmenter"));
}

export function unetConfig(spec: ExperimentSpec) {
  const sg = spec.segmenter;
  // trainingSamples fixes the length in samples: the iterations per epoch follow from it.
  const iterationsPerEpoch =
    sg.trainingSamples > 0 ? Math.ceil(sg.trainingSamples / (sg.epochs * sg.batchSize)) : sg.iterationsPerEpoch;
  return {
    inputSize: spec.data.sliceSize,
    depth: sg.depth,
    baseFilters: sg.baseFilters,
    maxFilters: sg.maxFilters,
    deepSupervision: sg.deepSupervision,
    epochs: sg.epochs,
    iterationsPerEpoch,
    batchSize: sg.batchSize,
    learningRate: sg.learningRate,
    momentum: sg.momentum,
    // Only when set, so that stage keys of whole-slice experiments stay what they were.
    ...(sg.patchSize ? { patchSize: sg.patchSize } : {}),
    ...(sg.trainingSamples > 0 ? { maxTrainingSamples: sg.trainingSamples } : {}),
    ...(sg.maxTrainingSeconds > 0 ? { maxTrainingSeconds: sg.maxTrainingSeconds } : {}),
  };
}

/** The request's form of the config (the sample limit is a uint64 on the wire). */
function unetConfigMessage(config: ReturnType<typeof unetConfig>) {
  return { ...config, maxTrainingSamples: BigInt(config.maxTrainingSamples ?? 0) };
}

/**
 * The U-Net runs of one condition. `runs[r]` lists the datasets run r trains on: when every run trains on the
 * same datasets (real data) one job trains them all; otherwise (each run drew its own GANs) one job per run,
 * seeded as run r of a multi-run job would be, so run r of every condition starts from the same weights.
 */
export async function trainCondition(
  ctx: ExperimentContext,
  condition: string,
  runs: string[][],
  realDatasetId = "",
): Promise<ModelRefs> {
  const same = runs.every((r) => r.join("+") === (runs[0] ?? []).join("+"));
  if (same) return trainJob(ctx, condition, runs[0] ?? [], runs.length, ctx.spec.seed, condition, realDatasetId);
  const perRun = await Promise.all(
    runs.map((datasetIds, r) =>
      trainJob(ctx, condition, datasetIds, 1, runSeed(ctx.spec.seed, r), `${condition}:run${r + 1}`, realDatasetId),
    ),
  );
  const modelIds = perRun.flatMap((m) => m.modelIds);
  ctx.board.update(segmentRow(condition), { state: "done", message: `${modelIds.length} models` });
  return { condition, modelIds };
}

async function trainJob(
  ctx: ExperimentContext,
  condition: string,
  datasetIds: string[],
  runs: number,
  baseSeed: number,
  log: string,
  realDatasetId: string,
): Promise<ModelRefs> {
  const { spec, clients, board } = ctx;
  const row = segmentRow(condition);
  const config = unetConfig(spec);
  const realSubjects = spec.segmenter.validation === "real-subjects";
  // A condition without the real dataset (synthetic only) reads it just for its held-out subjects.
  const validationSources =
    realSubjects && realDatasetId && !datasetIds.includes(realDatasetId)
      ? [{ datasetId: realDatasetId, split: Split.TRAIN, maxSlices: 0 }]
      : [];
  const out = await ctx.runStage({
    log: `train:${log}`,
    stage: `train:${condition}`,
    material: {
      datasetIds,
      runs,
      seed: baseSeed,
      config,
      validationFraction: spec.segmenter.validationFraction,
      augmentation: spec.segmenter.augmentation,
      maxSlices: spec.segmenter.maxSlices,
      // Only when set, so that stage keys of per-source experiments stay what they were.
      ...(realSubjects
        ? { validation: "real-subjects", validationSources: validationSources.map((s) => s.datasetId) }
        : {}),
    },
    produce: async (stage) => {
      if (ctx.scaleOut)
        return trainOnCluster(ctx, condition, datasetIds, runs, baseSeed, log, {
          ...(realSubjects
            ? {
                validation: "real-subjects" as const,
                validationSources: validationSources.map((v) => ({ ...v, split: "train" as const })),
              }
            : {}),
        });
      const res = await submit(() =>
        clients.segmenter.trainSegmenter({
          sources: datasetIds.map((id) => ({ datasetId: id, split: Split.TRAIN, maxSlices: spec.segmenter.maxSlices })),
          mixture: Mixture.EQUAL,
          validationFraction: spec.segmenter.validationFraction,
          ...(realSubjects ? { validationScheme: ValidationScheme.REAL_SUBJECTS, validationSources } : {}),
          runs,
          baseSeed,
          config: unetConfigMessage(config),
          augmentation: { enabled: spec.segmenter.augmentation },
          name: condition,
          labels: { experiment: ctx.experimentId, condition },
        }),
      );
      const submitted = { modelIds: res.modelIds, jobId: res.jobId, runJobIds: res.runJobIds };
      await stage.markPending("segmenter", res.jobId, submitted);
      board.update(row, { state: "queued", message: `job ${res.jobId}` });
      // Curves come from the run jobs; the row follows the parent.
      const runWatches = res.runJobIds.map((id, i) =>
        followJob(clients.jobs.segmenter, "segmenter", id, {
          signal: ctx.signal,
          onStatus: (j) => ctx.history.record("unet", `${log} run ${i + 1}`, j),
        }).catch(() => undefined),
      );
      // The parent's progress carries the current run's metrics: keep them too (curves per condition).
      await ctx.watch("segmenter", res.jobId, row, (j) => ctx.history.record("unet", condition, j));
      await Promise.all(runWatches);
      return submitted;
    },
    verify: async (r) => {
      try {
        const listed = await clients.segmenter.listModels({ jobId: r.jobId, page: { pageSize: 1000 } });
        const have = new Set(listed.models.map((m) => m.id));
        return r.modelIds.every((id) => have.has(id));
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    },
    resume: ctx.resumeJob("segmenter", row),
  });
  ctx.finishRow(row, out.how, `${out.result.modelIds.length} models`);
  return { condition, modelIds: out.result.modelIds };
}

/** The same runs as one Kubernetes Indexed Job, a pod per run (spec executor: kubernetes; see cli/src/kube). */
async function trainOnCluster(
  ctx: ExperimentContext,
  condition: string,
  datasetIds: string[],
  runs: number,
  baseSeed: number,
  log: string,
  validation: Pick<UnetRunsRequest, "validation" | "validationSources">,
): Promise<{ modelIds: string[]; jobId: string; runJobIds: string[] }> {
  const { spec } = ctx;
  const row = segmentRow(condition);
  ctx.board.update(row, { state: "queued", message: `Kubernetes Job for ${runs} runs` });
  const r = await ctx.scaleOut!.trainUnetRuns(
    {
      jobName: jobNameOf(ctx.experimentId, log),
      name: condition,
      sources: datasetIds.map((id) => ({ datasetId: id, split: "train", maxSlices: spec.segmenter.maxSlices })),
      mixture: "equal",
      validationFraction: spec.segmenter.validationFraction,
      ...validation,
      runs,
      baseSeed,
      config: { ...unetConfig(spec), polyExponent: 0, weightDecay: 0 },
      augmentation: { enabled: spec.segmenter.augmentation },
      labels: { experiment: ctx.experimentId, condition },
    },
    ctx.signal,
  );
  return { modelIds: r.modelIds, jobId: r.jobId, runJobIds: [] };
}
