// Intensity augmentations of seed 000 section 3.2 (image only; labels and mask are never touched).
import type { Rng } from "../random/index.js";
import { resizeBilinear, resizeNearest } from "./resample.js";
import type { SegSample, Transform } from "./types.js";

/** Per-channel standard deviation of the image (over the mask if present): noise is relative to it. */
function channelStd(s: SegSample): Float64Array {
  const n = s.height * s.width;
  const sum = new Float64Array(s.channels);
  const sq = new Float64Array(s.channels);
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (s.mask && !s.mask[i]) continue;
    count++;
    for (let c = 0; c < s.channels; c++) {
      const v = s.image[i * s.channels + c];
      sum[c] += v;
      sq[c] += v * v;
    }
  }
  const out = new Float64Array(s.channels);
  for (let c = 0; c < s.channels; c++) {
    const mean = count ? sum[c] / count : 0;
    out[c] = count ? Math.sqrt(Math.max(sq[c] / count - mean * mean, 0)) : 0;
  }
  return out;
}

export interface RandGaussianNoiseOptions {
  p?: number;
  /** Range of the noise standard deviation, in units of each channel's standard deviation (default [0, 0.05]). */
  stdRange?: [number, number];
}

/**
 * Zero-mean Gaussian noise, p 0.5, sd ~ U[0, 0.05]. The seed adds it to normalised images; since z-scoring
 * comes last in our pipeline, the sd is taken relative to each channel's own sd, which is the same thing
 * and makes the transform independent of the scanner's intensity scale.
 */
export class RandGaussianNoise implements Transform {
  readonly name = "RandGaussianNoise";
  private readonly o: Required<RandGaussianNoiseOptions>;
  constructor(options: RandGaussianNoiseOptions = {}) {
    this.o = { p: 0.5, stdRange: [0, 0.05], ...options };
  }
  apply(s: SegSample, rng: Rng): SegSample {
    const on = rng.bernoulli(this.o.p);
    const rel = rng.uniform(this.o.stdRange[0], this.o.stdRange[1]);
    if (!on) return s;
    const sd = channelStd(s);
    const image = new Float32Array(s.image);
    const ch = s.channels;
    for (let i = 0; i < image.length; i++) image[i] += rel * sd[i % ch] * rng.normal();
    return { ...s, image };
  }
}

export interface RandGaussianBlurOptions {
  p?: number;
  sigmaRange?: [number, number];
}

/** Separable Gaussian blur of every channel, p 0.2, sigma ~ U[0.5, 1] pixels; edges replicate. */
export class RandGaussianBlur implements Transform {
  readonly name = "RandGaussianBlur";
  private readonly o: Required<RandGaussianBlurOptions>;
  constructor(options: RandGaussianBlurOptions = {}) {
    this.o = { p: 0.2, sigmaRange: [0.5, 1], ...options };
  }
  apply(s: SegSample, rng: Rng): SegSample {
    const on = rng.bernoulli(this.o.p);
    const sigma = rng.uniform(this.o.sigmaRange[0], this.o.sigmaRange[1]);
    if (!on) return s;
    return { ...s, image: gaussianBlur(s.image, s.height, s.width, s.channels, sigma) };
  }
}

export function gaussianBlur(img: Float32Array, h: number, w: number, ch: number, sigma: number): Float32Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float64Array(2 * r + 1);
  let total = 0;
  for (let i = -r; i <= r; i++) {
    k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
    total += k[i + r];
  }
  for (let i = 0; i < k.length; i++) k[i] /= total;
  const tmp = new Float32Array(img.length);
  const out = new Float32Array(img.length);
  const clamp = (v: number, n: number) => (v < 0 ? 0 : v >= n ? n - 1 : v);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < ch; c++) {
        let v = 0;
        for (let i = -r; i <= r; i++) v += k[i + r] * img[(y * w + clamp(x + i, w)) * ch + c];
        tmp[(y * w + x) * ch + c] = v;
      }
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < ch; c++) {
        let v = 0;
        for (let i = -r; i <= r; i++) v += k[i + r] * tmp[(clamp(y + i, h) * w + x) * ch + c];
        out[(y * w + x) * ch + c] = v;
      }
  return out;
}

export interface RandLowResolutionOptions {
  /** Default 0.25 (nnU-Net's SimulateLowResolution probability; the seed gives none). */
  p?: number;
  zoomRange?: [number, number];
}

/** Simulates a coarser acquisition: nearest downsampling by a zoom in [0.75, 1], then bilinear back up. */
export class RandLowResolution implements Transform {
  readonly name = "RandLowResolution";
  private readonly o: Required<RandLowResolutionOptions>;
  constructor(options: RandLowResolutionOptions = {}) {
    this.o = { p: 0.25, zoomRange: [0.75, 1], ...options };
  }
  apply(s: SegSample, rng: Rng): SegSample {
    const on = rng.bernoulli(this.o.p);
    const zoom = rng.uniform(this.o.zoomRange[0], this.o.zoomRange[1]);
    if (!on) return s;
    const oh = Math.max(1, Math.round(s.height * zoom));
    const ow = Math.max(1, Math.round(s.width * zoom));
    if (oh === s.height && ow === s.width) return s;
    const low = resizeNearest(s.image, s.height, s.width, s.channels, oh, ow);
    return { ...s, image: resizeBilinear(low, oh, ow, s.channels, s.height, s.width) };
  }
}

export interface RandGammaOptions {
  /** Default 0.3 (nnU-Net's gamma probability; the seed gives none). */
  p?: number;
  gammaRange?: [number, number];
}

/**
 * Gamma in [0.8, 1.2] as nnU-Net does it: each channel is rescaled to [0, 1] over its own min/max,
 * raised to gamma, and mapped back to its original range (so the transform works on any intensity scale).
 */
export class RandGamma implements Transform {
  readonly name = "RandGamma";
  private readonly o: Required<RandGammaOptions>;
  constructor(options: RandGammaOptions = {}) {
    this.o = { p: 0.3, gammaRange: [0.8, 1.2], ...options };
  }
  apply(s: SegSample, rng: Rng): SegSample {
    const on = rng.bernoulli(this.o.p);
    const gamma = rng.uniform(this.o.gammaRange[0], this.o.gammaRange[1]);
    if (!on) return s;
    const ch = s.channels;
    const image = new Float32Array(s.image);
    for (let c = 0; c < ch; c++) {
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (let i = c; i < image.length; i += ch) {
        if (image[i] < lo) lo = image[i];
        if (image[i] > hi) hi = image[i];
      }
      const range = hi - lo;
      if (!(range > 0)) continue;
      for (let i = c; i < image.length; i += ch) image[i] = ((image[i] - lo) / range) ** gamma * range + lo;
    }
    return { ...s, image };
  }
}
