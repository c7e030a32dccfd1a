// Seed 004's memorization study: for each synthetic image, its maximum correlation to any training slice, set
// against the same for real slices the generator never saw (held-out: the baseline of what an unseen real image
// scores). A generator that copies its training images pushes the synthetic distribution above the baseline;
// seed 004 saw this for diffusion models trained on small data, so a study runs at two training-set sizes.
//
// The correlation is of the whole image: the chosen channels laid side by side as one plane and correlated as one
// vector (zero-mean, unit-norm, zero shift), so a near-copy must match in every channel at once, unlike the
// per-channel gate of memorization.ts (which flags a sample on any one channel). The dot products are the gate's.
import { InvalidInput, type PaceOptions, runSteps, runStepsPaced, type Steps } from "@synthmri/core";
import { diceBoxPlot } from "../figures/box-plot.js";
import { percentileSorted } from "../stats/descriptive.js";
import { type ImageSet, checkImageSet } from "./image-set.js";
import { MemorizationGate } from "./memorization.js";

function checkChannels(set: ImageSet, channels: readonly number[]): void {
  checkImageSet("images", set);
  if (channels.length === 0 || channels.some((c) => !Number.isInteger(c) || c < 0 || c >= set.c))
    throw new InvalidInput(`channels [${channels.join(", ")}] must be indices in 0..${set.c - 1}`);
}

/** The chosen channels of every image side by side ([n, h, w * k, 1]): one plane per image. */
export function sideBySide(set: ImageSet, channels: readonly number[]): ImageSet {
  return runSteps(sideBySideSteps(set, channels));
}

/** Images copied between two yields of `sideBySideSteps`. */
const COPY_IMAGES_PER_STEP = 32;

function* sideBySideSteps(set: ImageSet, channels: readonly number[]): Steps<ImageSet> {
  checkChannels(set, channels);
  const k = channels.length;
  const out =
    set.data instanceof Uint8Array
      ? new Uint8Array(set.n * set.h * set.w * k)
      : new Float32Array(set.n * set.h * set.w * k);
  for (let i = 0; i < set.n; i++) {
    for (let y = 0; y < set.h; y++)
      for (let ci = 0; ci < k; ci++)
        for (let x = 0; x < set.w; x++)
          out[((i * set.h + y) * k + ci) * set.w + x] = set.data[((i * set.h + y) * set.w + x) * set.c + channels[ci]];
    if (i % COPY_IMAGES_PER_STEP === COPY_IMAGES_PER_STEP - 1) yield;
  }
  return { data: out, n: set.n, h: set.h, w: set.w * k, c: 1 };
}

/**
 * Per-image maximum correlation to a reference set (the training slices), image batch by image batch: the
 * reference is prepared once (on the first batch), each `add` appends the maxima of its images (synthetic samples
 * or held-out slices). `addAsync` yields to the event loop as it goes: over thousands of slices the work takes
 * minutes, which a process calling gRPC must not spend without reading its sockets.
 */
export class MaxCorrelationAccumulator {
  private gate: MemorizationGate | undefined;
  private readonly maxima: number[] = [];

  constructor(
    private readonly reference: ImageSet,
    readonly channels: readonly number[],
  ) {
    checkChannels(reference, channels);
  }

  get referenceCount(): number {
    return this.reference.n;
  }

  add(images: ImageSet): this {
    runSteps(this.addSteps(images));
    return this;
  }

  async addAsync(images: ImageSet, pace?: PaceOptions): Promise<this> {
    await runStepsPaced(this.addSteps(images), pace);
    return this;
  }

  *addSteps(images: ImageSet): Steps<void> {
    this.gate ??= new MemorizationGate(yield* sideBySideSteps(this.reference, this.channels));
    const planes = yield* sideBySideSteps(images, this.channels);
    for (const m of yield* this.gate.matchSteps(planes)) this.maxima.push(m.maxNcc);
  }

  get values(): number[] {
    return [...this.maxima];
  }
}

/** Per-image maximum correlation of `images` to `reference` (one batch of the accumulator). */
export function maxCorrelations(images: ImageSet, reference: ImageSet, channels: readonly number[]): number[] {
  return new MaxCorrelationAccumulator(reference, channels).add(images).values;
}

export interface MaxCorrelationSummary {
  n: number;
  median: number;
  p95: number;
  max: number;
}

export interface MemorizationComparison {
  synthetic: MaxCorrelationSummary;
  heldOut: MaxCorrelationSummary;
  /** Fraction of synthetic images closer to a training slice than the closest held-out slice came. */
  aboveHeldOutMax: number;
  /** Fraction of synthetic images above the held-out 99th percentile (1 % expected of an unseen real image). */
  aboveHeldOutP99: number;
  /**
   * P(a synthetic image's max correlation > a held-out slice's), ties counted half (the Mann-Whitney AUC):
   * 0.5 = as close to the training data as unseen real images, 1 = every synthetic image closer.
   */
  auc: number;
}

function summary(sorted: Float64Array): MaxCorrelationSummary {
  return {
    n: sorted.length,
    median: percentileSorted(sorted, 50),
    p95: percentileSorted(sorted, 95),
    max: sorted[sorted.length - 1],
  };
}

/** Synthetic maxima against the held-out baseline. */
export function compareToHeldOut(synthetic: ArrayLike<number>, heldOut: ArrayLike<number>): MemorizationComparison {
  const s = Float64Array.from(synthetic).sort();
  const h = Float64Array.from(heldOut).sort();
  if (s.length === 0 || h.length === 0)
    throw new InvalidInput("the memorization comparison needs synthetic and held-out maxima (one of them is empty)");
  if ([...s, ...h].some((v) => Number.isNaN(v))) throw new InvalidInput("max correlations must be numbers, got NaN");
  const hMax = h[h.length - 1];
  const hP99 = percentileSorted(h, 99);
  // Rank-sum AUC in one merge pass over the sorted arrays: for each synthetic value, held-out values below it
  // count 1, equal ones 1/2.
  let below = 0;
  let equalEnd = 0;
  let wins = 0;
  for (const v of s) {
    while (below < h.length && h[below] < v) below++;
    equalEnd = Math.max(equalEnd, below);
    while (equalEnd < h.length && h[equalEnd] === v) equalEnd++;
    wins += below + (equalEnd - below) / 2;
  }
  return {
    synthetic: summary(s),
    heldOut: summary(h),
    aboveHeldOutMax: s.filter((v) => v > hMax).length / s.length,
    aboveHeldOutP99: s.filter((v) => v > hP99).length / s.length,
    auc: wins / (s.length * h.length),
  };
}

/** One generator at one training-set size. */
export interface MemorizationArm {
  /** e.g. "ddpm 20 %". */
  label: string;
  synthetic: number[];
  heldOut: number[];
}

/** Box plots of the per-image max correlation: held-out baseline next to synthetic, one pair per arm (PNG). */
export function memorizationStudyFigure(
  arms: MemorizationArm[],
  title = "Max correlation to a training slice",
): Buffer {
  if (arms.length === 0) throw new InvalidInput("the memorization figure needs at least one arm");
  const all = arms.flatMap((a) => [...a.synthetic, ...a.heldOut]).filter(Number.isFinite);
  const lo = Math.max(-1, Math.floor((Math.min(...all) - 0.05) * 10) / 10);
  return diceBoxPlot(
    {
      conditions: ["real held-out (baseline)", "synthetic"],
      classes: arms.map((a) => a.label),
      values: [arms.map((a) => a.heldOut), arms.map((a) => a.synthetic)],
    },
    { title, yLabel: "max correlation", yRange: [lo, 1] },
  );
}
