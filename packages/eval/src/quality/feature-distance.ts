// A Fréchet feature distance ("FID-like") from a small FIXED network. What it is: pooled activations of a
// seeded random-weight conv net (4 conv 3x3 stride-2 layers with ReLU, widths 16-32-64-64, He-normal weights
// from Rng(FEATURE_NET_SEED), zero biases), summarised per image by per-feature mean and standard deviation over
// space (128 numbers), then the Fréchet distance between the Gaussian fits of the two sets' features.
// What it is NOT: Inception FID. Its numbers are not comparable with published FID values, nor across versions
// of this product if FEATURE_NET_VERSION changes; compare them only between sets scored by the same version.
// Random conv features still respond to intensity statistics, texture and structure, which is what a relative
// comparison (ensemble vs single GAN, synthetic vs real) needs.
import { tf } from "@synthmri/ml";
import { InvalidInput, yieldToEventLoop } from "@synthmri/core";
import { Rng } from "@synthmri/ml";
import { type ImageSet, checkCompatible, checkImageSet } from "./image-set.js";
import { frechetDistance, meanCov } from "./linalg.js";

export const FEATURE_NET_SEED = 20_240_611;
export const FEATURE_NET_VERSION = "random-conv-v1";
const WIDTHS = [16, 32, 64, 64];
/** Features per image: spatial mean and std of the last layer. */
export const FEATURE_DIM = 2 * WIDTHS[WIDTHS.length - 1];
const NETWORK_DESCRIPTION = `${FEATURE_NET_VERSION} (seed ${FEATURE_NET_SEED}, conv3x3/2 x4 ${WIDTHS.join("-")}, mean+std pooling)`;

export interface FeatureDistanceOptions {
  /** Images per forward pass (memory vs speed). */
  batchSize?: number;
  /** Divide inputs by this before the net; default 255 for uint8 sets, 1 for float32 sets. */
  scale?: number;
  /**
   * Images per set needed per feature dimension (default 4, MIN_IMAGES_PER_FEATURE): with fewer the covariance
   * of the features is rank-deficient or noisy and the distance mostly measures the sample size.
   */
  minImagesPerFeature?: number;
  /** What to do below that: "flag" (default: `sufficient` false in the result) or "throw" (InvalidInput). */
  onTooFewImages?: "flag" | "throw";
}

/** Seed-level rule: a Fréchet distance needs at least 4x more images than feature dimensions per set. */
export const MIN_IMAGES_PER_FEATURE = 4;

export interface FeatureDistanceResult {
  distance: number;
  featureDim: number;
  nA: number;
  nB: number;
  network: string;
  /** min(nA, nB) / featureDim */
  imagesPerFeature: number;
  /** whether both sets reach `minImagesPerFeature` images per feature dimension */
  sufficient: boolean;
}

/** Images each set needs for a trustworthy Fréchet distance on `featureDim` features. */
export function minImagesForFrechet(featureDim: number, perFeature = MIN_IMAGES_PER_FEATURE): number {
  return Math.ceil(featureDim * perFeature);
}

function sampleSizeCheck(
  nA: number,
  nB: number,
  dim: number,
  options: FeatureDistanceOptions,
): { imagesPerFeature: number; sufficient: boolean } {
  const per = options.minImagesPerFeature ?? MIN_IMAGES_PER_FEATURE;
  if (!(per >= 0)) throw new InvalidInput(`minImagesPerFeature must be >= 0, got ${per}`);
  const need = minImagesForFrechet(dim, per);
  const sufficient = nA >= need && nB >= need;
  if (!sufficient && options.onTooFewImages === "throw")
    throw new InvalidInput(
      `Fréchet distance on ${dim} features needs at least ${need} images per set (${per}x the feature dimension), ` +
        `got ${nA} and ${nB}; sample more images or use fewer features`,
    );
  return { imagesPerFeature: Math.min(nA, nB) / dim, sufficient };
}

function weights(inChannels: number): { w: Float32Array; shape: [number, number, number, number] }[] {
  const rng = new Rng(FEATURE_NET_SEED + inChannels);
  let cin = inChannels;
  return WIDTHS.map((cout) => {
    const w = new Float32Array(3 * 3 * cin * cout);
    rng.fillNormal(w, 0, Math.sqrt(2 / (9 * cin)));
    const shape: [number, number, number, number] = [3, 3, cin, cout];
    cin = cout;
    return { w, shape };
  });
}

/** Per-image features (rows x 2*64): spatial mean and std of the last layer's activations. */
export function featureNetEmbed(set: ImageSet, options: FeatureDistanceOptions = {}): Float32Array {
  const e = embedder(set, options);
  try {
    for (let start = 0; start < set.n; start += e.batch) e.store(start, e.features(start).dataSync());
  } finally {
    e.dispose();
  }
  return e.out;
}

/**
 * `featureNetEmbed` with awaited reads: the same features on every backend (webgpu included). Yields to the event
 * loop after each batch (a cpu backend's read resolves at once, which would let no I/O in).
 */
export async function featureNetEmbedAsync(set: ImageSet, options: FeatureDistanceOptions = {}): Promise<Float32Array> {
  const e = embedder(set, options);
  try {
    for (let start = 0; start < set.n; start += e.batch) {
      e.store(start, await e.features(start).data());
      await yieldToEventLoop();
    }
  } finally {
    e.dispose();
  }
  return e.out;
}

/** The feature net's batches; `features(start)` returns the batch's tensor, which `store` copies and frees. */
function embedder(set: ImageSet, options: FeatureDistanceOptions) {
  checkImageSet("feature net input", set, 16);
  const scale = options.scale ?? (set.data instanceof Uint8Array ? 255 : 1);
  const batch = options.batchSize ?? 16;
  const kernels = weights(set.c).map((w) => tf.tensor4d(w.w, w.shape));
  const dim = 2 * WIDTHS[WIDTHS.length - 1];
  const out = new Float32Array(set.n * dim);
  const per = set.h * set.w * set.c;
  let pending: tf.Tensor | null = null;
  return {
    batch,
    out,
    features(start: number): tf.Tensor {
      const count = Math.min(batch, set.n - start);
      const slice = Float32Array.from(set.data.subarray(start * per, (start + count) * per));
      pending = tf.tidy(() => {
        let x: tf.Tensor4D = tf.tensor4d(slice, [count, set.h, set.w, set.c]).div(scale);
        for (const k of kernels) x = tf.relu(tf.conv2d(x, k, 2, "same"));
        const { mean, variance } = tf.moments(x, [1, 2]);
        return tf.concat([mean, tf.sqrt(variance)], 1);
      });
      return pending;
    },
    store(start: number, values: ArrayLike<number>): void {
      out.set(values, start * dim);
      pending?.dispose();
      pending = null;
    },
    dispose(): void {
      pending?.dispose();
      for (const k of kernels) k.dispose();
    },
  };
}

/**
 * Streaming feature statistics: add batches as they arrive (e.g. from a StreamSlices stream), then compare two
 * accumulators with `frechetBetween`. Sums and sums of outer products in float64, so the result equals the
 * one-shot computation up to rounding.
 */
export class FeatureStatsAccumulator {
  readonly dim = 2 * WIDTHS[WIDTHS.length - 1];
  private readonly sum = new Float64Array(this.dim);
  private readonly outer = new Float64Array(this.dim * this.dim);
  private count = 0;
  private shape: [number, number, number] | null = null;

  constructor(private readonly options: FeatureDistanceOptions = {}) {}

  get n(): number {
    return this.count;
  }

  add(batch: ImageSet): void {
    this.check(batch);
    this.accumulate(batch.n, featureNetEmbed(batch, this.options));
  }

  /** `add` with awaited reads (every backend, webgpu included). */
  async addAsync(batch: ImageSet): Promise<void> {
    this.check(batch);
    this.accumulate(batch.n, await featureNetEmbedAsync(batch, this.options));
  }

  private check(batch: ImageSet): void {
    checkImageSet("feature batch", batch, 16);
    if (this.shape && (this.shape[0] !== batch.h || this.shape[1] !== batch.w || this.shape[2] !== batch.c))
      throw new InvalidInput(
        `feature batch is ${batch.h}x${batch.w}x${batch.c} but earlier batches were ${this.shape.join("x")}`,
      );
    this.shape = [batch.h, batch.w, batch.c];
  }

  private accumulate(n: number, f: Float32Array): void {
    const d = this.dim;
    for (let r = 0; r < n; r++) {
      const o = r * d;
      for (let i = 0; i < d; i++) {
        const fi = f[o + i];
        this.sum[i] += fi;
        for (let j = i; j < d; j++) this.outer[i * d + j] += fi * f[o + j];
      }
    }
    this.count += n;
  }

  /** Mean and sample covariance (n - 1) of the features seen so far. */
  stats(): { mean: Float64Array; cov: Float64Array; n: number } {
    const d = this.dim;
    const n = this.count;
    if (n < 2) throw new InvalidInput(`feature statistics need at least 2 images, got ${n}`);
    const mean = this.sum.map((s) => s / n);
    const cov = new Float64Array(d * d);
    for (let i = 0; i < d; i++)
      for (let j = i; j < d; j++) {
        const c = (this.outer[i * d + j] - n * mean[i] * mean[j]) / (n - 1);
        cov[i * d + j] = c;
        cov[j * d + i] = c;
      }
    return { mean, cov, n };
  }
}

/** Fréchet distance between two accumulators' feature statistics. */
export function frechetBetween(
  a: FeatureStatsAccumulator,
  b: FeatureStatsAccumulator,
  options: Pick<FeatureDistanceOptions, "minImagesPerFeature" | "onTooFewImages"> = {},
): FeatureDistanceResult {
  const check = sampleSizeCheck(a.n, b.n, a.dim, options);
  const sa = a.stats();
  const sb = b.stats();
  return {
    ...check,
    distance: frechetDistance(sa.mean, sa.cov, sb.mean, sb.cov, a.dim),
    featureDim: a.dim,
    nA: sa.n,
    nB: sb.n,
    network: NETWORK_DESCRIPTION,
  };
}

/** Fréchet distance between the fixed net's features of two sets (see the file comment for what it means). */
export function featureFrechetDistance(
  a: ImageSet,
  b: ImageSet,
  options: FeatureDistanceOptions = {},
): FeatureDistanceResult {
  checkPair(a, b);
  const check = sampleSizeCheck(a.n, b.n, FEATURE_DIM, options);
  return { ...frechetOfFeatures(a.n, b.n, featureNetEmbed(a, options), featureNetEmbed(b, options)), ...check };
}

/** `featureFrechetDistance` with awaited reads: the same result on every backend (webgpu included). */
export async function featureFrechetDistanceAsync(
  a: ImageSet,
  b: ImageSet,
  options: FeatureDistanceOptions = {},
): Promise<FeatureDistanceResult> {
  checkPair(a, b);
  const check = sampleSizeCheck(a.n, b.n, FEATURE_DIM, options);
  const fa = await featureNetEmbedAsync(a, options);
  return { ...frechetOfFeatures(a.n, b.n, fa, await featureNetEmbedAsync(b, options)), ...check };
}

function checkPair(a: ImageSet, b: ImageSet): void {
  checkImageSet("first image set", a, 16);
  checkImageSet("second image set", b, 16);
  checkCompatible(a, b, "feature distance");
  if (a.n < 2 || b.n < 2)
    throw new InvalidInput(`feature distance needs at least 2 images per set for a covariance (got ${a.n} and ${b.n})`);
}

function frechetOfFeatures(
  nA: number,
  nB: number,
  featA: Float32Array,
  featB: Float32Array,
): Omit<FeatureDistanceResult, "imagesPerFeature" | "sufficient"> {
  const dim = FEATURE_DIM;
  const fa = meanCov(featA, nA, dim);
  const fb = meanCov(featB, nB, dim);
  return {
    distance: frechetDistance(fa.mean, fa.cov, fb.mean, fb.cov, dim),
    featureDim: dim,
    nA,
    nB,
    network: NETWORK_DESCRIPTION,
  };
}
