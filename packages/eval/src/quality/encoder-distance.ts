// A Fréchet distance on the features of a network trained here (issue 16): the encoder of the real-data U-Net
// (UNet.encode: the spatial maximum of every encoder level, sum(widths) numbers per image). Unlike the fixed
// random-conv net (feature-distance.ts), these features are what the segmenter learnt to look at, so the
// distance says how far synthetic images are from real ones *for this task*. Like every Fréchet distance it
// needs at least 4x more images per set than feature dimensions (MIN_IMAGES_PER_FEATURE): below that it
// throws instead of reporting a number that mostly measures the sample size.
import { InvalidInput, yieldToEventLoop } from "@synthmri/core";
import { tf, type UNet } from "@synthmri/ml";
import { MIN_IMAGES_PER_FEATURE, minImagesForFrechet } from "./feature-distance.js";
import { frechetDistance, meanCov } from "./linalg.js";

/** Images as the U-Net takes them: [n, h, w, channels] z-scored, channels-last, one flat array. */
export interface EncoderImages {
  data: Float32Array;
  n: number;
  height: number;
  width: number;
  channels: number;
}

export interface EncoderFrechetResult {
  distance: number;
  featureDim: number;
  nA: number;
  nB: number;
  imagesPerFeature: number;
}

/** Encoder features of a set, [n * dim] row-major, in batches (tensors disposed), yielding between batches. */
export async function encoderFeatures(
  model: UNet,
  set: EncoderImages,
  batchSize = 64,
): Promise<{ features: Float32Array; dim: number }> {
  const per = set.height * set.width * set.channels;
  const parts: Float32Array[] = [];
  let dim = 0;
  for (let start = 0; start < set.n; start += batchSize) {
    const n = Math.min(batchSize, set.n - start);
    const x = tf.tensor4d(set.data.subarray(start * per, (start + n) * per), [n, set.height, set.width, set.channels]);
    const f = model.encode(x);
    x.dispose();
    dim = f.shape[1];
    parts.push((await f.data()) as Float32Array);
    f.dispose();
    // A cpu backend's read resolves at once: let the event loop (gRPC keepalive, health) in between batches.
    await yieldToEventLoop();
  }
  const features = new Float32Array(set.n * dim);
  let at = 0;
  for (const p of parts) {
    features.set(p, at);
    at += p.length;
  }
  return { features, dim };
}

/** A set's encoder-feature statistics, computed once and compared with many sets (the real training slices). */
export interface EncoderReference {
  mean: Float64Array;
  cov: Float64Array;
  n: number;
  dim: number;
}

function checkEnough(n: number, dim: number, perFeature: number, what: string): void {
  const need = minImagesForFrechet(dim, perFeature);
  if (n < need)
    throw new InvalidInput(
      `Fréchet distance on ${dim} encoder features needs at least ${need} images per set (${perFeature}x the feature dimension), ${what} has ${n}`,
    );
}

/** The encoder-feature mean and covariance of a set, to compare other sets against without re-encoding it. */
export async function encoderReference(
  model: UNet,
  set: EncoderImages,
  perFeature = MIN_IMAGES_PER_FEATURE,
): Promise<EncoderReference> {
  const f = await encoderFeatures(model, set);
  checkEnough(set.n, f.dim, perFeature, "the reference set");
  const s = meanCov(f.features, set.n, f.dim);
  return { mean: s.mean, cov: s.cov, n: set.n, dim: f.dim };
}

/** Fréchet distance of a set's encoder features (A: e.g. synthetic) to a reference's (B: real training slices). */
export async function encoderFrechetToReference(
  model: UNet,
  a: EncoderImages,
  reference: EncoderReference,
  perFeature = MIN_IMAGES_PER_FEATURE,
): Promise<EncoderFrechetResult> {
  const fa = await encoderFeatures(model, a);
  if (fa.dim !== reference.dim)
    throw new InvalidInput(`encoder features: ${fa.dim} per image, the reference has ${reference.dim}`);
  checkEnough(a.n, fa.dim, perFeature, "the compared set");
  const sa = meanCov(fa.features, a.n, fa.dim);
  return {
    distance: frechetDistance(sa.mean, sa.cov, reference.mean, reference.cov, fa.dim),
    featureDim: fa.dim,
    nA: a.n,
    nB: reference.n,
    imagesPerFeature: Math.min(a.n, reference.n) / fa.dim,
  };
}

/** Fréchet distance between two sets' encoder features (A: e.g. synthetic, B: real training slices). */
export async function encoderFrechetDistance(
  model: UNet,
  a: EncoderImages,
  b: EncoderImages,
  perFeature = MIN_IMAGES_PER_FEATURE,
): Promise<EncoderFrechetResult> {
  return encoderFrechetToReference(model, a, await encoderReference(model, b, perFeature), perFeature);
}
