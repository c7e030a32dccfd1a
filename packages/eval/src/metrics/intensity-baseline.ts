// The intensity-only baseline: a per-pixel Gaussian classifier on the four MR intensities, with no spatial
// context at all. Each pixel's features are its z-scored intensities (per slice and channel over the brain,
// exactly what the U-Net is fed), each class (background brain, NCR, ED, ET) is one Gaussian (full covariance
// by default: quadratic discriminant analysis; "diagonal" is Gaussian naive Bayes) with its pixel-frequency
// prior. It is the floor a segmenter must beat: if it scores close to a U-Net the data are solvable from
// intensities alone and the comparison says nothing about learning shape and context. Hand-written because
// it is 4 features x 4 classes of closed-form statistics (no npm library fits the typed-array inputs better).
import { InvalidInput } from "@synthmri/core";
import { nonZeroMask, type SegSample, zScoreInPlace } from "@synthmri/ml";
import type { SegClass } from "./classes.js";
import { type EmptyPolicy, type SubjectMetrics, segmentationMetrics } from "./segmentation.js";

/** Labels of the internal scheme: 0 background, 1 NCR, 2 ED, 3 ET. */
const CLASSES = 4;

export type IntensityCovariance = "full" | "diagonal";

export interface IntensityClassifier {
  covariance: IntensityCovariance;
  channels: number;
  /** log prior per class (pixels inside the brain) */
  logPrior: number[];
  /** per class: mean (channels) */
  means: number[][];
  /** per class: inverse covariance (channels x channels, row-major) */
  precision: number[][];
  /** per class: log determinant of the covariance */
  logDet: number[];
  /** training pixels per class */
  counts: number[];
}

/** z-scored features and brain mask of a slice, as the U-Net sees it. */
function features(s: SegSample): { x: Float32Array; mask: Uint8Array } {
  const mask = s.mask ?? nonZeroMask(s.image, s.height, s.width, s.channels);
  return { x: zScoreInPlace(new Float32Array(s.image), s.height, s.width, s.channels, mask), mask };
}

/** Cholesky-based inverse and log determinant of a small SPD matrix (ridge added by the caller). */
function invertSpd(a: number[], d: number): { inv: number[]; logDet: number } {
  const l = new Array(d * d).fill(0);
  for (let i = 0; i < d; i++)
    for (let j = 0; j <= i; j++) {
      let s = a[i * d + j];
      for (let k = 0; k < j; k++) s -= l[i * d + k] * l[j * d + k];
      if (i === j) {
        if (!(s > 0)) throw new InvalidInput("intensity classifier: a class covariance is singular");
        l[i * d + i] = Math.sqrt(s);
      } else l[i * d + j] = s / l[j * d + j];
    }
  let logDet = 0;
  for (let i = 0; i < d; i++) logDet += 2 * Math.log(l[i * d + i]);
  // inverse of L, then inv(A) = inv(L)^T inv(L)
  const li = new Array(d * d).fill(0);
  for (let i = 0; i < d; i++) {
    li[i * d + i] = 1 / l[i * d + i];
    for (let j = 0; j < i; j++) {
      let s = 0;
      for (let k = j; k < i; k++) s -= l[i * d + k] * li[k * d + j];
      li[i * d + j] = s / l[i * d + i];
    }
  }
  const inv = new Array(d * d).fill(0);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = Math.max(i, j); k < d; k++) s += li[k * d + i] * li[k * d + j];
      inv[i * d + j] = s;
    }
  return { inv, logDet };
}

/** Fits one Gaussian per class to the brain pixels of the training slices. */
export function fitIntensityClassifier(
  samples: Iterable<SegSample>,
  options: { covariance?: IntensityCovariance } = {},
): IntensityClassifier {
  const covariance = options.covariance ?? "full";
  let d = 0;
  let sum: Float64Array[] = [];
  let outer: Float64Array[] = [];
  const counts = new Array(CLASSES).fill(0);
  for (const s of samples) {
    if (d === 0) {
      d = s.channels;
      sum = Array.from({ length: CLASSES }, () => new Float64Array(d));
      outer = Array.from({ length: CLASSES }, () => new Float64Array(d * d));
    } else if (s.channels !== d)
      throw new InvalidInput(`intensity classifier: slices have ${s.channels} and ${d} channels; use one layout`);
    const { x, mask } = features(s);
    for (let p = 0; p < s.label.length; p++) {
      if (!mask[p]) continue;
      const c = s.label[p];
      if (c >= CLASSES) throw new InvalidInput(`intensity classifier: label ${c} is outside 0..3 (convert 4 to 3)`);
      counts[c]++;
      const o = p * d;
      for (let i = 0; i < d; i++) {
        const xi = x[o + i];
        sum[c][i] += xi;
        for (let j = 0; j < d; j++) outer[c][i * d + j] += xi * x[o + j];
      }
    }
  }
  if (d === 0) throw new InvalidInput("intensity classifier: no training slices");
  const total = counts.reduce((a, b) => a + b, 0);
  const model: IntensityClassifier = {
    covariance,
    channels: d,
    logPrior: [],
    means: [],
    precision: [],
    logDet: [],
    counts,
  };
  for (let c = 0; c < CLASSES; c++) {
    const n = counts[c];
    // A class never seen in training cannot be predicted: prior -Infinity, placeholder Gaussian.
    if (n < d + 1) {
      model.logPrior.push(Number.NEGATIVE_INFINITY);
      model.means.push(new Array(d).fill(0));
      model.precision.push(Array.from({ length: d * d }, (_, k) => (k % (d + 1) === 0 ? 1 : 0)));
      model.logDet.push(0);
      continue;
    }
    const mean = Array.from(sum[c], (v) => v / n);
    const cov = new Array(d * d);
    for (let i = 0; i < d; i++)
      for (let j = 0; j < d; j++) {
        const v = outer[c][i * d + j] / n - mean[i] * mean[j];
        cov[i * d + j] = covariance === "diagonal" && i !== j ? 0 : v + (i === j ? 1e-6 : 0);
      }
    const { inv, logDet } = invertSpd(cov, d);
    model.logPrior.push(Math.log(n / total));
    model.means.push(mean);
    model.precision.push(inv);
    model.logDet.push(logDet);
  }
  return model;
}

/** Per-pixel labels (0..3) of one slice; outside the brain is background. */
export function predictIntensityLabels(model: IntensityClassifier, s: SegSample): Uint8Array {
  if (s.channels !== model.channels)
    throw new InvalidInput(`intensity classifier: slice has ${s.channels} channels, the model ${model.channels}`);
  const d = model.channels;
  const { x, mask } = features(s);
  const out = new Uint8Array(s.height * s.width);
  const diff = new Float64Array(d);
  const bias = model.logPrior.map((lp, c) => lp - 0.5 * model.logDet[c]);
  for (let p = 0; p < out.length; p++) {
    if (!mask[p]) continue;
    let best = 0;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < CLASSES; c++) {
      if (bias[c] === Number.NEGATIVE_INFINITY) continue;
      const m = model.means[c];
      const P = model.precision[c];
      for (let i = 0; i < d; i++) diff[i] = x[p * d + i] - m[i];
      let q = 0;
      for (let i = 0; i < d; i++) {
        let row = 0;
        for (let j = 0; j < d; j++) row += P[i * d + j] * diff[j];
        q += diff[i] * row;
      }
      const score = bias[c] - 0.5 * q;
      if (score > bestScore) {
        bestScore = score;
        best = c;
      }
    }
    out[p] = best;
  }
  return out;
}

/** One held-out subject: its slices (same height and width), stacked into a volume for scoring. */
export interface SubjectSlices {
  subject: string;
  slices: SegSample[];
}

export interface BaselineScores {
  /** mean over subjects of the per-subject Dice */
  dice: Record<"NCR" | "ED" | "ET" | "WT" | "TC", number>;
  /** mean of NCR, ED, ET (seed 000's table) */
  meanNcrEdEt: number;
  perSubject: SubjectMetrics[];
}

const CLASSES_SCORED: readonly SegClass[] = ["NCR", "ED", "ET", "WT", "TC"];

/** Per-subject Dice of predicted vs true label slices (stacked as [slices, h, w]), averaged over subjects. */
export function scoreSubjects(
  subjects: { subject: string; pred: Uint8Array[]; truth: Uint8Array[]; height: number; width: number }[],
  emptyPolicy: EmptyPolicy = "both-empty-1",
): BaselineScores {
  if (!subjects.length) throw new InvalidInput("scoring needs at least one subject");
  const perSubject = subjects.map((s) => {
    const stack = (slices: Uint8Array[]) => {
      const out = new Uint8Array(slices.length * s.height * s.width);
      slices.forEach((l, k) => {
        out.set(l, k * s.height * s.width);
      });
      return { data: out, shape: [slices.length, s.height, s.width] as const };
    };
    return segmentationMetrics(s.subject, stack(s.pred), stack(s.truth), [1, 1, 1], {
      emptyPolicy,
      skipHd95: true,
      classes: CLASSES_SCORED,
    });
  });
  const meanOf = (c: SegClass) => {
    const v = perSubject.map((m) => m.classes[c]!.dice).filter((x) => !Number.isNaN(x));
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : Number.NaN;
  };
  const dice = { NCR: meanOf("NCR"), ED: meanOf("ED"), ET: meanOf("ET"), WT: meanOf("WT"), TC: meanOf("TC") };
  return { dice, meanNcrEdEt: (dice.NCR + dice.ED + dice.ET) / 3, perSubject };
}

/**
 * The report's intensity-only baseline row: fit on the training slices, predict every held-out subject's
 * slices, per-subject Dice (BraTS empty convention by default) averaged over subjects.
 */
export function intensityOnlyBaseline(
  train: Iterable<SegSample>,
  test: SubjectSlices[],
  options: { covariance?: IntensityCovariance; emptyPolicy?: EmptyPolicy } = {},
): BaselineScores & { model: IntensityClassifier } {
  const model = fitIntensityClassifier(train, options);
  const scored = test.map((t) => {
    if (!t.slices.length) throw new InvalidInput(`subject ${t.subject} has no slices to score`);
    const { height, width } = t.slices[0];
    return {
      subject: t.subject,
      height,
      width,
      pred: t.slices.map((s) => predictIntensityLabels(model, s)),
      truth: t.slices.map((s) => s.label),
    };
  });
  return { ...scoreSubjects(scored, options.emptyPolicy), model };
}
