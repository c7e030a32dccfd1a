// Evaluate: a segmentation model on a dataset split, per subject in 3D. Slices stream from the ingest service
// straight into the segmenter (one bidi call, batches in order), predictions and truths are reassembled into
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
import type { ImageBatch, Segmenter, SliceSource, SplitName, SubjectDescription } from "./ports.js";
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
  /** Slices per batch sent to the segmenter. */
  batchSize?: number;
  /** Score the intensity-only baseline fitted on the dataset's train split instead of a model. */
  intensityBaseline?: boolean;
}

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
  const segmenter = p.intensityBaseline ? intensityBaselineSegmenter(deps.source, p.datasetId) : deps.segmenter;
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

  // Truth and slice tags of batches sent but not yet answered, by batch index.
  const inFlight = new Map<
    number,
    { keys: string[]; indices: number[]; truth: Uint8Array; n: number; h: number; w: number }
  >();
  async function* images(): AsyncGenerator<ImageBatch> {
    let index = 0;
    for await (const b of deps.source.streamSlices(p.datasetId, { split: p.split, batchSize: p.batchSize, signal })) {
      throwIfAborted(signal);
      if (b.c < 5)
        throw new InvalidInput(
          `dataset ${p.datasetId}: slices have ${b.c} channels; evaluation needs 5 (T1, T1CE, T2, FLAIR, mask)`,
        );
      if (b.subjectKeys.length !== b.n || b.sliceIndices.length !== b.n)
        throw new FailedPrecondition(
          `dataset ${p.datasetId}: a batch of ${b.n} slices carries ${b.subjectKeys.length} subject keys and ${b.sliceIndices.length} slice indices`,
        );
      const plane = b.h * b.w;
      const img = new Uint8Array(b.n * plane * 4);
      const mask = new Uint8Array(b.n * plane);
      for (let i = 0, px = 0; px < b.n * plane; px++, i += b.c) {
        img.set(b.data.subarray(i, i + 4), px * 4);
        mask[px] = b.data[i + 4];
      }
      inFlight.set(index, {
        keys: b.subjectKeys,
        indices: b.sliceIndices,
        truth: maskToLabels(mask, `dataset ${p.datasetId} batch ${index}`),
        n: b.n,
        h: b.h,
        w: b.w,
      });
      yield { index, data: img, n: b.n, h: b.h, w: b.w };
      index++;
    }
  }

  for await (const out of segmenter.segment(images(), { modelId: p.modelId, version, tta: p.tta, signal })) {
    throwIfAborted(signal);
    const sent = inFlight.get(out.index);
    if (!sent)
      throw new FailedPrecondition(
        `segmenter answered batch ${out.index}, which was not sent or was already answered; is the segmenter up to date?`,
      );
    inFlight.delete(out.index);
    if (out.n !== sent.n || out.h !== sent.h || out.w !== sent.w)
      throw new InvalidInput(
        `model ${p.modelId}: prediction shape [${out.n}, ${out.h}, ${out.w}] differs from the truth [${sent.n}, ${sent.h}, ${sent.w}] ` +
          "for the same batch; the segmenter must return one label map per input slice at the input size",
      );
    const plane = out.h * out.w;
    for (let i = 0; i < out.n; i++) {
      const done = assembler.add(
        sent.keys[i],
        sent.indices[i],
        out.labels.subarray(i * plane, (i + 1) * plane),
        sent.truth.subarray(i * plane, (i + 1) * plane),
        out.h,
        out.w,
      );
      if (done) score(done);
    }
  }
  if (inFlight.size > 0)
    throw new FailedPrecondition(
      `segmenter ended the stream with ${inFlight.size} batches unanswered; check the segmenter service log`,
    );
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
