// Outlier filter of seed 001 (section 3.4): z-score every synthetic image pixel by pixel against the
// per-location mean and standard deviation of the REAL training images, take the Euclidean norm of the
// standardised image, and discard images whose norm exceeds a threshold (500 in the seed, for 256x256 masks).
//
// Scaling to other sizes: for deviations of similar size per pixel, the norm grows with the square root of
// the number of values compared, so the default threshold is 500 * sqrt(values / (256 * 256)), e.g. 62.5
// for a 32x32 mask. Values are compared on the 0-255 scale (mask levels 0/51/102/204); locations where the
// real std is below `minStd` (e.g. always-background corners) use `minStd` (default 1 on that scale), or a
// single stray label there would give an infinite z-score.
import { InvalidInput } from "@synthmri/core";
import type { SampleBatch } from "./sample.js";

export const SEED_THRESHOLD = 500;
export const SEED_VALUES = 256 * 256;

export interface OutlierReference {
  size: number;
  /** Which image channels are compared (default: the mask, the last channel, as in the seed). */
  channels: number[];
  mean: Float32Array;
  std: Float32Array;
  realCount: number;
}

export function defaultOutlierThreshold(size: number, channelCount = 1): number {
  return SEED_THRESHOLD * Math.sqrt((size * size * channelCount) / SEED_VALUES);
}

const to255 = (v: number) => (v + 1) * 127.5;

/** Per-location mean/std of the real images ([n, size, size, totalChannels] in [-1, 1]). */
export function outlierReference(
  real: Float32Array,
  n: number,
  size: number,
  totalChannels: number,
  opts: { channels?: number[]; minStd?: number } = {},
): OutlierReference {
  if (n < 2) throw new InvalidInput(`the outlier reference needs at least 2 real images, got ${n}`);
  if (real.length !== n * size * size * totalChannels) {
    throw new InvalidInput(
      `real images hold ${real.length} values; ${n} of ${size}x${size}x${totalChannels} need ${n * size * size * totalChannels}`,
    );
  }
  const channels = opts.channels ?? [totalChannels - 1];
  const minStd = opts.minStd ?? 1;
  const per = size * size * channels.length;
  const sum = new Float64Array(per);
  const sq = new Float64Array(per);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < size * size; p++) {
      for (let k = 0; k < channels.length; k++) {
        const v = to255(real[(i * size * size + p) * totalChannels + channels[k]]);
        sum[p * channels.length + k] += v;
        sq[p * channels.length + k] += v * v;
      }
    }
  }
  const mean = new Float32Array(per);
  const std = new Float32Array(per);
  for (let j = 0; j < per; j++) {
    const m = sum[j] / n;
    mean[j] = m;
    std[j] = Math.max(minStd, Math.sqrt(Math.max(0, sq[j] / n - m * m)));
  }
  return { size, channels, mean, std, realCount: n };
}

/** Norm of each standardised image. */
export function outlierNorms(
  ref: OutlierReference,
  images: Float32Array,
  n: number,
  totalChannels: number,
): Float64Array {
  const { size, channels, mean, std } = ref;
  if (images.length !== n * size * size * totalChannels) {
    throw new InvalidInput(
      `images are not ${n} of ${size}x${size}x${totalChannels}; the reference was built at ${size}x${size}`,
    );
  }
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let p = 0; p < size * size; p++) {
      for (let k = 0; k < channels.length; k++) {
        const j = p * channels.length + k;
        const z = (to255(images[(i * size * size + p) * totalChannels + channels[k]]) - mean[j]) / std[j];
        s += z * z;
      }
    }
    norms[i] = Math.sqrt(s);
  }
  return norms;
}

export interface OutlierResult {
  kept: SampleBatch;
  rejected: number;
  threshold: number;
  norms: Float64Array;
}

/** Drops samples whose standardised norm exceeds `threshold` (default: the seed's 500, size-scaled). */
export function filterOutliers(batch: SampleBatch, ref: OutlierReference, threshold?: number): OutlierResult {
  if (batch.size !== ref.size)
    throw new InvalidInput(`samples are ${batch.size}px, the outlier reference is ${ref.size}px`);
  const t = threshold ?? defaultOutlierThreshold(ref.size, ref.channels.length);
  if (!(t > 0)) throw new InvalidInput(`outlier threshold must be > 0, got ${t}`);
  const norms = outlierNorms(ref, batch.images, batch.count, batch.channels);
  const keep: number[] = [];
  for (let i = 0; i < batch.count; i++) if (norms[i] <= t) keep.push(i);
  const px = batch.size * batch.size;
  const images = new Float32Array(keep.length * px * batch.channels);
  const labels = new Uint8Array(keep.length * px);
  keep.forEach((i, k) => {
    images.set(batch.images.subarray(i * px * batch.channels, (i + 1) * px * batch.channels), k * px * batch.channels);
    labels.set(batch.labels.subarray(i * px, (i + 1) * px), k * px);
  });
  return {
    kept: { ...batch, count: keep.length, images, labels, provenance: keep.map((i) => batch.provenance[i]) },
    rejected: batch.count - keep.length,
    threshold: t,
    norms,
  };
}
