// Turns a stream of 2D slices (each tagged with its subject and axial index) back into per-subject 3D label
// volumes, so metrics are computed per subject over the whole volume (seed 000 section 4), not per slice.
//
// Only the slices preprocessing kept exist (foreground test). They are placed at their true axial positions
// between the subject's first and last kept index; a skipped index in between (rare: kept slices are the
// contiguous brain extent) is background in both prediction and truth, and counted in `gapSlices`.
import { InvalidInput } from "@synthmri/platform";
import type { LabelVolume } from "@synthmri/eval";
import type { SubjectDescription } from "./ports.js";

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * Spacing [z, y, x] in mm of a subject's slices. Ingest pads the axial planes to the next power of two of the
 * in-plane size (240 -> 256) and then resizes to the dataset's slice size, so in-plane spacing scales by
 * padded / slice side (1 at the seed-000 default of 256, 2 for 128, 0.5 for 512).
 */
export function sliceSpacing(subject: SubjectDescription, h: number, w: number): [number, number, number] {
  const [sx, sy, sz] = subject.spacing;
  if (![sx, sy, sz].every((s) => Number.isFinite(s) && s > 0))
    throw new InvalidInput(
      `subject ${subject.key}: spacing [${subject.spacing.join(", ")}] must be 3 positive numbers in mm; re-import the dataset`,
    );
  const padded = nextPow2(Math.max(subject.shape[0], subject.shape[1]));
  return [sz, (sy * padded) / h, (sx * padded) / w];
}

export interface SubjectVolumes {
  key: string;
  pred: LabelVolume;
  truth: LabelVolume;
  /** [z, y, x] mm. */
  spacing: [number, number, number];
  slices: number;
  gapSlices: number;
}

interface Pending {
  subject: SubjectDescription;
  h: number;
  w: number;
  slices: Map<number, { pred: Uint8Array; truth: Uint8Array }>;
}

/**
 * Collects prediction/truth slice pairs per subject and hands back a subject's volumes as soon as all its
 * slices (the dataset's slice_count) have arrived, so memory holds only the subjects in flight.
 */
export class SubjectAssembler {
  private readonly subjects: Map<string, SubjectDescription>;
  private readonly pending = new Map<string, Pending>();
  private readonly done = new Set<string>();

  constructor(subjects: readonly SubjectDescription[]) {
    this.subjects = new Map(subjects.map((s) => [s.key, s]));
  }

  /** Adds one slice; returns the subject's volumes when it is complete. */
  add(
    key: string,
    sliceIndex: number,
    pred: Uint8Array,
    truth: Uint8Array,
    h: number,
    w: number,
  ): SubjectVolumes | null {
    const subject = this.subjects.get(key);
    if (!subject)
      throw new InvalidInput(
        `a slice belongs to a subject that the dataset does not list in this split (slice ${sliceIndex}); the dataset manifest and its slices disagree`,
      );
    if (this.done.has(key))
      throw new InvalidInput(`subject ${key}: slice ${sliceIndex} arrived after all its slices were evaluated`);
    let p = this.pending.get(key);
    if (!p) {
      p = { subject, h, w, slices: new Map() };
      this.pending.set(key, p);
    }
    if (p.h !== h || p.w !== w)
      throw new InvalidInput(`subject ${key}: slices of ${h}x${w} and ${p.h}x${p.w} cannot form one volume`);
    if (p.slices.has(sliceIndex)) throw new InvalidInput(`subject ${key}: slice ${sliceIndex} arrived twice`);
    p.slices.set(sliceIndex, { pred, truth });
    if (subject.sliceCount > 0 && p.slices.size >= subject.sliceCount) return this.finish(key);
    return null;
  }

  /** Volumes of every subject still pending (end of stream). */
  flush(): SubjectVolumes[] {
    return [...this.pending.keys()].sort().map((k) => this.finish(k));
  }

  /** Subjects of the split that never received a slice. */
  missing(): string[] {
    return [...this.subjects.keys()].filter((k) => !this.done.has(k) && !this.pending.has(k));
  }

  private finish(key: string): SubjectVolumes {
    const p = this.pending.get(key)!;
    this.pending.delete(key);
    this.done.add(key);
    const indices = [...p.slices.keys()].sort((a, b) => a - b);
    const z0 = indices[0];
    const depth = indices[indices.length - 1] - z0 + 1;
    const plane = p.h * p.w;
    const pred = new Uint8Array(depth * plane);
    const truth = new Uint8Array(depth * plane);
    for (const [z, s] of p.slices) {
      pred.set(s.pred, (z - z0) * plane);
      truth.set(s.truth, (z - z0) * plane);
    }
    const shape = [depth, p.h, p.w] as const;
    return {
      key,
      pred: { data: pred, shape },
      truth: { data: truth, shape },
      spacing: sliceSpacing(p.subject, p.h, p.w),
      slices: indices.length,
      gapSlices: depth - indices.length,
    };
  }
}
