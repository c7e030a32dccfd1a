// Seed 001's outlier filter where the seed applied it in the two-stage design: on stage 1's generated label maps,
// before stage 2 turns them into images. The filter is the PGAN path's (gan/outlier.ts): every pixel z-scored
// against the per-location mean and std of the REAL label maps, the Euclidean norm of the standardised map
// compared with a threshold (calibrated on real held-out maps, as the PGAN path's). Only the encoding differs:
// a label map has 7 unordered classes (tissue bg/CSF/GM/WM, tumour NCR/ED/ET), so it is compared one-hot (class k
// at a pixel = 255 in channel k), not as one ordinal value per pixel; per location and class the reference is the
// class's frequency p (mean 255 p, std 255 sqrt(p (1 - p))). A class never seen at a location gets the std of a
// class seen once (255 sqrt((1/n)(1 - 1/n))), not gan/outlier.ts' floor of 1: with one-hot values one stray
// pixel would otherwise weigh 255 and swamp every plausible difference in tumour position.
// The reference is built from class counts, never from one-hot copies (2000 maps at 64 px would be 230 MB).
import { InvalidInput } from "@synthmri/core";
import { type OutlierReference, outlierNorms } from "../../gan/outlier.js";
import { LABEL_CLASSES, TISSUE_CLASSES } from "./config.js";

/**
 * Class per pixel of a two-stage label map from a tumour label (0 none, 1 NCR, 2 ED, 3 ET) and a tissue label
 * (0 bg, 1 CSF, 2 GM, 3 WM): the tumour overrides the tissue (SpadeTwoStageModel.labelMaps' rule).
 */
export function twoStageClasses(tumour: ArrayLike<number>, tissue: ArrayLike<number>): Uint8Array {
  if (tumour.length !== tissue.length)
    throw new InvalidInput(`tumour labels (${tumour.length}) and tissue labels (${tissue.length}) differ in length`);
  const out = new Uint8Array(tumour.length);
  for (let i = 0; i < out.length; i++) out[i] = tumour[i] > 0 ? tumour[i] + TISSUE_CLASSES - 1 : tissue[i];
  return out;
}

function checkMaps(classes: Uint8Array, n: number, size: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || classes.length !== n * size * size)
    throw new InvalidInput(`${what}: ${classes.length} labels are not ${n} maps of ${size}x${size}`);
}

/** Per-location class statistics of `n` real label maps ([n, size, size] classes 0..6) as an outlier reference. */
export function labelMapReference(classes: Uint8Array, n: number, size: number): OutlierReference {
  checkMaps(classes, n, size, "real label maps");
  if (n < 2) throw new InvalidInput(`the label-map outlier reference needs at least 2 real maps, got ${n}`);
  const px = size * size;
  const counts = new Uint32Array(px * LABEL_CLASSES);
  for (let i = 0; i < n; i++)
    for (let p = 0; p < px; p++) {
      const c = classes[i * px + p];
      if (c >= LABEL_CLASSES) throw new InvalidInput(`label-map class ${c} is outside 0..${LABEL_CLASSES - 1}`);
      counts[p * LABEL_CLASSES + c]++;
    }
  const minStd = 255 * Math.sqrt((1 / n) * (1 - 1 / n));
  const mean = new Float32Array(px * LABEL_CLASSES);
  const std = new Float32Array(px * LABEL_CLASSES);
  for (let j = 0; j < mean.length; j++) {
    const f = counts[j] / n;
    mean[j] = 255 * f;
    std[j] = Math.max(minStd, 255 * Math.sqrt(f * (1 - f)));
  }
  return { size, channels: Array.from({ length: LABEL_CLASSES }, (_, k) => k), mean, std, realCount: n };
}

/** Maps one-hot per chunk: a bounded copy whatever the count. */
const CHUNK = 64;

/** Standardised norm of each label map ([n, size, size] classes) under a `labelMapReference`. */
export function labelMapNorms(ref: OutlierReference, classes: Uint8Array, n: number): Float64Array {
  checkMaps(classes, n, ref.size, "label maps");
  const px = ref.size * ref.size;
  const norms = new Float64Array(n);
  const oneHot = new Float32Array(Math.min(n, CHUNK) * px * LABEL_CLASSES);
  for (let start = 0; start < n; start += CHUNK) {
    const m = Math.min(CHUNK, n - start);
    // gan/outlier.ts reads [-1, 1] values (255 = 1, 0 = -1).
    const view = oneHot.subarray(0, m * px * LABEL_CLASSES).fill(-1);
    for (let q = 0; q < m * px; q++) view[q * LABEL_CLASSES + classes[start * px + q]] = 1;
    norms.set(outlierNorms(ref, view, m, LABEL_CLASSES), start);
  }
  return norms;
}

/** Value at quantile q (0..1) of ascending values, linear between ranks. */
function quantile(sorted: Float64Array, q: number): number {
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

export interface LabelMapCalibration {
  threshold: number;
  percentile: number;
  heldOutMaps: number;
  /** Norms of the held-out real maps: p50, p90, p99, max. */
  heldOutNorms: { p50: number; p90: number; p99: number; max: number };
}

/**
 * The label-map threshold calibrated as the PGAN path's: the `percentile` of the norms of real held-out label maps
 * (never in the reference), so about (100 - percentile) % of unseen real maps would be rejected.
 */
export function calibrateLabelMapThreshold(
  ref: OutlierReference,
  heldOut: Uint8Array,
  n: number,
  percentile: number,
): LabelMapCalibration {
  if (!(percentile > 0 && percentile <= 100))
    throw new InvalidInput(`calibration percentile must be in (0, 100], got ${percentile}`);
  if (n < 1) throw new InvalidInput("label-map calibration needs at least one real held-out map");
  const norms = Float64Array.from(labelMapNorms(ref, heldOut, n)).sort();
  return {
    threshold: quantile(norms, percentile / 100),
    percentile,
    heldOutMaps: n,
    heldOutNorms: {
      p50: quantile(norms, 0.5),
      p90: quantile(norms, 0.9),
      p99: quantile(norms, 0.99),
      max: norms[n - 1],
    },
  };
}
