// Test helper: a phantom cohort sliced as ingest slices it (seed-000 slicing, 64x64 at the demo size) and split
// into training and held-out subjects as ingest splits it, as U-Net samples (HWC float 0-255, labels 0..3).
import {
  generatePhantomSubject,
  type PhantomSubject,
  resizeBatch,
  type SliceBatch,
  sliceSubject,
  splitSubjects,
} from "@synthmri/volume";
import type { SegSample } from "@synthmri/ml";

const MASK_TO_LABEL: Record<number, number> = { 0: 0, 51: 1, 102: 2, 204: 3 };

export interface SlicedSubject {
  subject: string;
  phantom: PhantomSubject;
  slices: SegSample[];
  batch: SliceBatch;
}

/** `sliceSize`: the final resize ingest applies (the demo: 32); unset keeps the padded slice side. */
export function sliceForTraining(p: PhantomSubject, sliceSize?: number): SlicedSubject {
  const seg = Uint8Array.from(p.seg, (v) => (v === 4 ? 3 : v));
  let { batch } = sliceSubject(p.id, { shape: p.shape, t1: p.t1, t1ce: p.t1ce, t2: p.t2, flair: p.flair, seg });
  if (sliceSize && batch.count > 0 && batch.height !== sliceSize) batch = resizeBatch(batch, sliceSize);
  const hw = batch.height * batch.width;
  const slices: SegSample[] = [];
  for (let k = 0; k < batch.count; k++) {
    const image = new Float32Array(hw * 4);
    const label = new Uint8Array(hw);
    for (let i = 0; i < hw; i++) {
      const o = (k * hw + i) * 5;
      for (let c = 0; c < 4; c++) image[i * 4 + c] = batch.data[o + c];
      label[i] = MASK_TO_LABEL[batch.data[o + 4]];
    }
    slices.push({ height: batch.height, width: batch.width, channels: 4, image, label });
  }
  return { subject: p.id, phantom: p, slices, batch };
}

/** The demo's cohort: `subjects` phantoms of `size`, `test` of them held out (ingest's seeded subject split). */
export function phantomCohortSplit(opts: {
  subjects: number;
  test: number;
  size: [number, number, number];
  seed: string | number;
  sliceSize?: number;
}): { train: SlicedSubject[]; test: SlicedSubject[] } {
  const all = Array.from({ length: opts.subjects }, (_, i) =>
    sliceForTraining(generatePhantomSubject(i, { size: opts.size, seed: String(opts.seed) }), opts.sliceSize),
  );
  const split = splitSubjects(
    all.map((s) => s.subject),
    { seed: String(opts.seed), testFraction: opts.test / opts.subjects },
  );
  const test = new Set(split.test);
  return { train: all.filter((s) => !test.has(s.subject)), test: all.filter((s) => test.has(s.subject)) };
}
