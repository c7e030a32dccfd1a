// The intensity-only baseline as a Segmenter: a per-pixel Gaussian classifier on the four intensities (no
// spatial context; @synthmri/eval fitIntensityClassifier) fitted on the dataset's own train split, then asked
// for label maps like a U-Net. Scoring it through runEvaluation gives a report row measured exactly like the
// models' (same subjects, same 3D Dice, same empty-case policy): the floor every trained condition must beat.
import { maskToLabels } from "@synthmri/core";
import { fitIntensityClassifier, type IntensityClassifier, predictIntensityLabels } from "@synthmri/eval";
import type { SegSample } from "@synthmri/ml";
import { FailedPrecondition } from "@synthmri/platform";
import type { LabelBatch, Segmenter, SegmentDatasetOptions, SliceBatch, SliceSource } from "./ports.js";

/** The model id an intensity-baseline evaluation records. */
export const INTENSITY_BASELINE_MODEL = "intensity-baseline";

/** Slice s of a 5-channel batch -> the classifier's sample (4 channels as floats; the mask as labels). */
function sampleOf(b: SliceBatch, s: number): SegSample {
  const plane = b.h * b.w;
  const image = new Float32Array(plane * 4);
  const mask = new Uint8Array(plane);
  for (let px = 0; px < plane; px++) {
    const i = (s * plane + px) * b.c;
    for (let c = 0; c < 4; c++) image[px * 4 + c] = b.data[i + c];
    mask[px] = b.data[i + 4];
  }
  return { height: b.h, width: b.w, channels: 4, image, label: maskToLabels(mask, "intensity baseline slice") };
}

export function intensityBaselineSegmenter(source: SliceSource, datasetId: string): Segmenter {
  let model: IntensityClassifier | undefined;
  return {
    async prepare(_modelId, _version, options = {}) {
      const train: SegSample[] = [];
      for await (const b of source.streamSlices(datasetId, { split: "train", batchSize: 64, signal: options.signal }))
        for (let s = 0; s < b.n; s++) train.push(sampleOf(b, s));
      if (train.length === 0)
        throw new FailedPrecondition(`dataset ${datasetId} has no train slices to fit the intensity-only baseline on`);
      model = fitIntensityClassifier(train);
      return { version: 1 };
    },
    async *segmentDataset(id: string, options: SegmentDatasetOptions): AsyncIterable<LabelBatch> {
      const fitted = model;
      if (!fitted) throw new FailedPrecondition("intensity baseline: prepare() fits the classifier before segmenting");
      let index = 0;
      for await (const b of source.streamSlices(id, {
        split: options.split,
        batchSize: options.batchSize,
        signal: options.signal,
      })) {
        const plane = b.h * b.w;
        const labels = new Uint8Array(b.n * plane);
        for (let s = 0; s < b.n; s++) labels.set(predictIntensityLabels(fitted, sampleOf(b, s)), s * plane);
        yield { index, labels, n: b.n, h: b.h, w: b.w, subjectKeys: b.subjectKeys, sliceIndices: b.sliceIndices };
        index++;
      }
    },
  };
}
