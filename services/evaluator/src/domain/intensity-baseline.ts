// The intensity-only baseline as a Segmenter: a per-pixel Gaussian classifier on the four intensities (no
// spatial context; @synthmri/eval fitIntensityClassifier) fitted on the dataset's own train split, then asked
// for label maps like a U-Net. Scoring it through runEvaluation gives a report row measured exactly like the
// models' (same subjects, same 3D Dice, same empty-case policy): the floor every trained condition must beat.
import { type IntensityClassifier, fitIntensityClassifier, predictIntensityLabels } from "@synthmri/eval";
import type { SegSample } from "@synthmri/ml";
import { FailedPrecondition } from "@synthmri/platform";
import type { ImageBatch, LabelBatch, Segmenter, SliceSource } from "./ports.js";
import { maskToLabels } from "@synthmri/core";

/** The model id an intensity-baseline evaluation records. */
export const INTENSITY_BASELINE_MODEL = "intensity-baseline";

/** 4-channel uint8 slice -> the classifier's sample (HWC floats; the classifier z-scores over the brain). */
function sampleOf(data: Uint8Array, h: number, w: number, label: Uint8Array): SegSample {
  const image = new Float32Array(h * w * 4);
  for (let i = 0; i < image.length; i++) image[i] = data[i];
  return { height: h, width: w, channels: 4, image, label };
}

export function intensityBaselineSegmenter(source: SliceSource, datasetId: string): Segmenter {
  let model: IntensityClassifier | undefined;
  return {
    async prepare(_modelId, _version, options = {}) {
      const train: SegSample[] = [];
      for await (const b of source.streamSlices(datasetId, { split: "train", batchSize: 64, signal: options.signal })) {
        const plane = b.h * b.w;
        for (let s = 0; s < b.n; s++) {
          const img = new Uint8Array(plane * 4);
          const mask = new Uint8Array(plane);
          for (let px = 0; px < plane; px++) {
            const i = (s * plane + px) * b.c;
            img.set(b.data.subarray(i, i + 4), px * 4);
            mask[px] = b.data[i + 4];
          }
          train.push(sampleOf(img, b.h, b.w, maskToLabels(mask, `dataset ${datasetId} train slice`)));
        }
      }
      if (train.length === 0)
        throw new FailedPrecondition(`dataset ${datasetId} has no train slices to fit the intensity-only baseline on`);
      model = fitIntensityClassifier(train);
      return { version: 1 };
    },
    async *segment(batches: AsyncIterable<ImageBatch>): AsyncIterable<LabelBatch> {
      if (!model) throw new FailedPrecondition("intensity baseline: prepare() fits the classifier before segment()");
      for await (const b of batches) {
        const plane = b.h * b.w;
        const labels = new Uint8Array(b.n * plane);
        for (let s = 0; s < b.n; s++) {
          const sample = sampleOf(b.data.subarray(s * plane * 4, (s + 1) * plane * 4), b.h, b.w, new Uint8Array(plane));
          labels.set(predictIntensityLabels(model, sample), s * plane);
        }
        yield { index: b.index, labels, n: b.n, h: b.h, w: b.w };
      }
    },
  };
}
