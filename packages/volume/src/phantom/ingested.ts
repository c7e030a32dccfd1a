// A phantom cohort exactly as the ingest service imports it (issue 16): each subject's BraTS files go through
// prepareSubject (decode, validate, reorient, seed-000 slicing), the slices are resized to the dataset's side, and
// the subjects are split with ingest's seeded subject split. In-process calibrations and tests use it, so what
// they measure is what the experiment's evaluator scores (same subjects, same slices).
import { InvalidInput } from "@synthmri/core";
import { prepareSubject } from "../cohort/prepare.js";
import { splitSeedText, splitSubjects } from "../cohort/split.js";
import { resizeBatch } from "../slicing/resize.js";
import type { SliceBatch } from "../slicing/slices.js";
import { generatePhantomSubject, type PhantomSubject, phantomSubjectFiles } from "./phantom.js";

export interface IngestedPhantom {
  subject: string;
  split: "train" | "test";
  phantom: PhantomSubject;
  /** 5 channels (t1, t1ce, t2, flair, mask as stored: 0, 51 NCR, 102 ED, 204 ET), uint8 */
  batch: SliceBatch;
}

export function ingestedPhantomCohort(opts: {
  subjects: number;
  size: [number, number, number];
  /** the experiment's seed: the phantoms' seed (as text) and the split seed (three digits) */
  seed: number;
  testSubjects: number;
  /** the dataset's slice side (the demo: 32); unset keeps the padded side */
  sliceSize?: number;
}): IngestedPhantom[] {
  const phantoms = Array.from({ length: opts.subjects }, (_, i) =>
    generatePhantomSubject(i, { size: opts.size, seed: String(opts.seed) }),
  );
  const split = splitSubjects(
    phantoms.map((p) => p.id),
    { seed: splitSeedText(opts.seed), testFraction: opts.testSubjects / opts.subjects },
  );
  const test = new Set(split.test);
  return phantoms.map((p) => {
    const files: Record<string, { name: string; bytes: Uint8Array }> = {};
    for (const [name, bytes] of Object.entries(phantomSubjectFiles(p, { level: 0 }))) {
      const role = name.slice(p.id.length + 1, -".nii.gz".length);
      files[role] = { name, bytes };
    }
    const prepared = prepareSubject(p.id, files, { scheme: "brats2020", gzipLevel: 0 });
    if (!prepared.ok) throw new InvalidInput(`phantom ${p.id}: ${prepared.problems.map((x) => x.reason).join("; ")}`);
    let batch = prepared.value.slices.batch;
    if (opts.sliceSize && batch.count > 0 && batch.height !== opts.sliceSize)
      batch = resizeBatch(batch, opts.sliceSize);
    return { subject: p.id, split: test.has(p.id) ? "test" : "train", phantom: p, batch };
  });
}
