// Stage 4, segment: R U-Net runs per condition on that condition's training datasets (equal mixture).
import { Mixture, Split } from "@synthmri/contracts";
import { followJob } from "../follow-job.js";
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
  return {
    inputSize: spec.data.sliceSize,
    depth: spec.segmenter.depth,
    baseFilters: spec.segmenter.baseFilters,
    maxFilters: spec.segmenter.maxFilters,
    deepSupervision: spec.segmenter.deepSupervision,
    epochs: spec.segmenter.epochs,
    iterationsPerEpoch: spec.segmenter.iterationsPerEpoch,
    batchSize: spec.segmenter.batchSize,
    learningRate: spec.segmenter.learningRate,
    momentum: spec.segmenter.momentum,
    // Only when set, so that stage keys of whole-slice experiments stay what they were.
    ...(spec.segmenter.patchSize ? { patchSize: spec.segmenter.patchSize } : {}),
  };
}

export async function trainCondition(
  ctx: ExperimentContext,
  condition: string,
  datasetIds: string[],
): Promise<ModelRefs> {
  const { spec, clients, board } = ctx;
  const row = segmentRow(condition);
  const config = unetConfig(spec);
  const out = await ctx.runStage({
    log: `train:${condition}`,
    stage: `train:${condition}`,
    material: {
      datasetIds,
      runs: spec.segmenter.runs,
      seed: spec.seed,
      config,
      validationFraction: spec.segmenter.validationFraction,
      augmentation: spec.segmenter.augmentation,
      maxSlices: spec.segmenter.maxSlices,
    },
    produce: async (stage) => {
      const res = await submit(() =>
        clients.segmenter.trainSegmenter({
          sources: datasetIds.map((id) => ({ datasetId: id, split: Split.TRAIN, maxSlices: spec.segmenter.maxSlices })),
          mixture: Mixture.EQUAL,
          validationFraction: spec.segmenter.validationFraction,
          runs: spec.segmenter.runs,
          baseSeed: spec.seed,
          config,
          augmentation: { enabled: spec.segmenter.augmentation },
          name: condition,
          labels: { experiment: ctx.experimentId, condition },
        }),
      );
      const submitted = { modelIds: res.modelIds, jobId: res.jobId, runJobIds: res.runJobIds };
      await stage.markPending("segmenter", res.jobId, submitted);
      board.update(row, { state: "queued", message: `job ${res.jobId}` });
      // Curves come from the run jobs; the row follows the parent.
      const runs = res.runJobIds.map((id, i) =>
        followJob(clients.jobs.segmenter, "segmenter", id, {
          signal: ctx.signal,
          onStatus: (j) => ctx.history.record("unet", `${condition} run ${i + 1}`, j),
        }).catch(() => undefined),
      );
      // The parent's progress carries the current run's metrics: keep them too (curves per condition).
      await ctx.watch("segmenter", res.jobId, row, (j) => ctx.history.record("unet", condition, j));
      await Promise.all(runs);
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
