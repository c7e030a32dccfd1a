// Evaluate: a segmentation model on a dataset split, per subject in 3D. The segmenter segments the split of
// the dataset artifact by id (it reads the images itself); the evaluator reads only the masks of the same
// split from the artifact, batch for batch in the same order. Predictions and truths are reassembled into
// subject volumes, and each finished subject is scored at once, so memory holds only subjects in flight.
import { FailedPrecondition, InvalidInput, type JobProgress, throwIfAborted } from "@synthmri/platform";
import type { ArtifactStore, Logger, ObjectRef } from "@synthmri/platform";
import {
  type EmptyPolicy,
  SegmentationMetricsAccumulator,
  segmentationMetrics,
  type SubjectMetrics,
} from "@synthmri/eval";
import { type StoredEvaluation, writeEvaluation } from "./evaluation-store.js";
import { intensityBaselineSegmenter } from "./intensity-baseline.js";
import type { Segmenter, SliceSource, SplitName, SubjectDescription } from "./ports.js";
import { maskToLabels } from "@synthmri/core";
import { SubjectAssembler, type SubjectVolumes } from "./volumes.js";

export interface EvaluateParams {
  evaluationId: string;
  modelId: string;
  modelVersion: number;
  datasetId: string;
  split: SplitName;
  emptyPolicy: EmptyPolicy;
  condition: string;
  tta: boolean;
  /** Only 95 is implemented by the metrics library. */
  hdPercentile: number;
  /** Slices per batch the segmenter answers (default 32). */
  batchSize?: number;
  /** Score the intensity-only baseline fitted on the dataset's train split instead of a model. */
  intensityBaseline?: boolean;
}

const DEFAULT_BATCH = 32;

export interface EvaluateDeps {
  source: SliceSource;
  segmenter: Segmenter;
  artifacts: ArtifactStore;
  logger?: Logger;
  provenance?: Record<string, unknown>;
}

export interface RunControl {
  signal?: AbortSignal;
  progress?: (p: JobProgress) => void;
}

/** Checks what can be checked before a job starts (request fields only; no I/O). */
export function checkEvaluateParams(p: EvaluateParams): void {
  if (!p.modelId.trim()) throw new InvalidInput("model_id is empty; pass the id of a trained segmentation model");
  if (!p.datasetId.trim()) throw new InvalidInput("dataset_id is empty; pass the id of an imported dataset");
  if (p.hdPercentile !== 95)
    throw new InvalidInput(`hd_percentile ${p.hdPercentile} is not supported; use 0 or 95 (HD95)`);
  if (p.condition.length > 100) throw new InvalidInput("condition name is longer than 100 characters");
}

/** Subjects of the dataset in the split, or InvalidInput when there are none. */
export function subjectsOfSplit(
  datasetId: string,
  subjects: readonly SubjectDescription[],
  split: SplitName,
): SubjectDescription[] {
  const chosen = subjects.filter((s) => split === "all" || s.split === split);
  if (chosen.length === 0)
    throw new InvalidInput(
      `dataset ${datasetId} has no ${split} subjects (of ${subjects.length}); evaluate a real dataset with a ${split} split`,
    );
  return chosen;
}

export async function runEvaluation(
  deps: EvaluateDeps,
  p: EvaluateParams,
  control: RunControl = {},
): Promise<StoredEvaluation> {
  checkEvaluateParams(p);
  const { signal } = control;
  const progress = control.progress ?? (() => {});
  const dataset = await deps.source.describe(p.datasetId, { signal });
  const subjects = subjectsOfSplit(p.datasetId, dataset.subjects, p.split);
  const segmenter: Segmenter = p.intensityBaseline
    ? intensityBaselineSegmenter(deps.source, p.datasetId)
    : deps.segmenter;
  const model = await segmenter.prepare(p.modelId, p.modelVersion, { signal });
  const version = model.version;
  const total = subjects.length;
  progress({ fraction: 0, phase: "evaluate", message: `evaluating ${total} subjects` });

  const assembler = new SubjectAssembler(subjects);
  const acc = new SegmentationMetricsAccumulator();
  let gapSlices = 0;
  const score = (v: SubjectVolumes) => {
    const m: SubjectMetrics = segmentationMetrics(v.key, v.pred, v.truth, v.spacing, { emptyPolicy: p.emptyPolicy });
    acc.add(m);
    gapSlices += v.gapSlices;
    const wt = m.classes.WT?.dice;
    progress({
      fraction: acc.size / total,
      phase: "evaluate",
      message: `${acc.size}/${total} subjects`,
      metrics:
        wt !== undefined && Number.isFinite(wt) ? { subjects: acc.size, dice_wt_last: wt } : { subjects: acc.size },
    });
  };

  const batchSize = p.batchSize || DEFAULT_BATCH;
  const masks = deps.source
    .streamSlices(p.datasetId, { split: p.split, batchSize, channels: ["mask"], signal })
    [Symbol.asyncIterator]();
  try {
    let index = 0;
    for await (const out of segmenter.segmentDataset(p.datasetId, {
      modelId: p.modelId,
      version,
      tta: p.tta,
      split: p.split,
      batchSize,
      signal,
    })) {
      throwIfAborted(signal);
      const next = await masks.next();
      if (next.done)
        throw new FailedPrecondition(
          `segmenter answered batch ${out.index} of dataset ${p.datasetId}, which holds fewer ${p.split} slices; is the segmenter up to date?`,
        );
      const b = next.value;
      if (out.index !== index)
        throw new FailedPrecondition(`segmenter answered batch ${out.index} where batch ${index} was due`);
      if (out.n !== b.n || out.h !== b.h || out.w !== b.w)
        throw new InvalidInput(
          `model ${p.modelId}: prediction shape [${out.n}, ${out.h}, ${out.w}] differs from the truth [${b.n}, ${b.h}, ${b.w}] ` +
            "for the same batch; the segmenter must return one label map per input slice at the input size",
        );
      if (b.subjectKeys.length !== b.n || b.sliceIndices.length !== b.n)
        throw new FailedPrecondition(
          `dataset ${p.datasetId}: a batch of ${b.n} slices carries ${b.subjectKeys.length} subject keys and ${b.sliceIndices.length} slice indices`,
        );
      if (out.subjectKeys.some((k, i) => k !== b.subjectKeys[i] || out.sliceIndices[i] !== b.sliceIndices[i]))
        throw new FailedPrecondition(
          `segmenter batch ${index} names other slices than the dataset's; both must read dataset ${p.datasetId} in manifest order`,
        );
      const truth = maskToLabels(b.data, `dataset ${p.datasetId} batch ${index}`);
      const plane = out.h * out.w;
      for (let i = 0; i < out.n; i++) {
        const done = assembler.add(
          b.subjectKeys[i],
          b.sliceIndices[i],
          out.labels.subarray(i * plane, (i + 1) * plane),
          truth.subarray(i * plane, (i + 1) * plane),
          out.h,
          out.w,
        );
        if (done) score(done);
      }
      index++;
    }
    if (!(await masks.next()).done)
      throw new FailedPrecondition(
        `segmenter ended the stream with ${p.split} slices of dataset ${p.datasetId} unanswered; check the segmenter service log`,
      );
  } finally {
    await masks.return?.();
  }
  for (const v of assembler.flush()) score(v);
  const missing = assembler.missing();
  if (missing.length > 0)
    throw new FailedPrecondition(
      `dataset ${p.datasetId}: ${missing.length} ${p.split} subjects listed in the manifest had no slices in the stream; re-import the dataset`,
    );
  throwIfAborted(signal);

  progress({ fraction: 1, phase: "store", message: "writing evaluation" });
  const agg = acc.aggregate();
  const inputs: ObjectRef[] = [dataset.manifest, model.manifest].filter((r): r is ObjectRef => r !== undefined);
  return writeEvaluation(
    deps.artifacts,
    p.evaluationId,
    {
      modelId: p.modelId,
      modelVersion: version,
      datasetId: p.datasetId,
      split: p.split,
      condition: p.condition,
      emptyPolicy: p.emptyPolicy,
      hdPercentile: p.hdPercentile,
      tta: p.tta,
      subjects: acc.size,
      gapSlices,
      summary: agg.classes,
    },
    acc.results(),
    inputs,
    deps.provenance,
  );
}
