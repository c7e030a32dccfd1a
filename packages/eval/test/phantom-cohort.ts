// Test helper: the demo's phantom cohort as the ingest service imports it (@synthmri/volume
// ingestedPhantomCohort: same slices, same held-out subjects as the experiment's evaluator scores), as U-Net
// samples (HWC float 0-255, labels 0..3).
import { maskToLabels } from "@synthmri/core";
import type { SegSample } from "@synthmri/ml";
import { ingestedPhantomCohort, type PhantomSubject, type SliceBatch } from "@synthmri/volume";

export interface SlicedSubject {
  subject: string;
  phantom: PhantomSubject;
  slices: SegSample[];
  batch: SliceBatch;
}

/** The slices of a 5-channel batch as U-Net samples. */
export function segSamplesOf(batch: SliceBatch): SegSample[] {
  const hw = batch.height * batch.width;
  const slices: SegSample[] = [];
  for (let k = 0; k < batch.count; k++) {
    const image = new Float32Array(hw * 4);
    const mask = new Uint8Array(hw);
    for (let i = 0; i < hw; i++) {
      const o = (k * hw + i) * 5;
      for (let c = 0; c < 4; c++) image[i * 4 + c] = batch.data[o + c];
      mask[i] = batch.data[o + 4];
    }
    slices.push({ height: batch.height, width: batch.width, channels: 4, image, label: maskToLabels(mask, "phantom") });
  }
  return slices;
}

/** The demo's cohort: `subjects` phantoms of `size`, `test` of them held out (ingest's seeded subject split). */
export function phantomCohortSplit(opts: {
  subjects: number;
  test: number;
  size: [number, number, number];
  seed: number;
  sliceSize?: number;
}): { train: SlicedSubject[]; test: SlicedSubject[] } {
  const all = ingestedPhantomCohort({ ...opts, testSubjects: opts.test }).map((s) => ({
    ...s,
    slices: segSamplesOf(s.batch),
  }));
  return { train: all.filter((s) => s.split === "train"), test: all.filter((s) => s.split === "test") };
}
