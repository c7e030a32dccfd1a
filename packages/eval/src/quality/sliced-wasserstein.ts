// Sliced Wasserstein distance (SWD) between two image sets on a Laplacian pyramid, after Karras et al. (PGAN,
// ICLR 2018, appendix D / sliced_wasserstein.py): from each image and pyramid level, random 7x7 neighbourhoods
// become descriptors; each set's descriptors are normalised per level and channel (its own mean and std); the
// distance per level is the mean over random unit directions of the 1D Wasserstein-1 distance between the sorted
// projections. Computed both on all channels jointly (descriptor 7x7xC, as PGAN's RGB) and per channel (7x7x1:
// T1, T1Gd, T2, FLAIR, mask separately). Lower is better; PGAN tables print the value x 1e3.
// Cost: descriptors x dimension x directions multiply-adds per level; keep sets to a few hundred images.
import { InvalidInput, type PaceOptions, runSteps, runStepsPaced, type Steps } from "@synthmri/core";
import { Rng } from "@synthmri/ml";
import { type ImageSet, channelPlane, checkCompatible, checkImageSet } from "./image-set.js";
import { laplacianPyramid } from "./laplacian.js";

export interface SwdOptions {
  /** Neighbourhood side (PGAN: 7). */
  nhoodSize?: number;
  /** Neighbourhoods per image and level (PGAN: 128). */
  nhoodsPerImage?: number;
  /** Repeats of random direction sets (PGAN: 4). */
  dirRepeats?: number;
  /** Directions per repeat (PGAN: 128). */
  dirsPerRepeat?: number;
  /** Smallest pyramid level side (PGAN: 16). */
  minSide?: number;
  seed?: number;
}

export interface SwdLevel {
  h: number;
  w: number;
  /** SWD on 7x7xC descriptors. */
  all: number;
  /** SWD on 7x7 descriptors of each channel alone. */
  perChannel: number[];
}

export interface SwdResult {
  /** Finest level first; the last is the low-pass residual. */
  levels: SwdLevel[];
  /** Mean of `all` over levels. */
  meanAll: number;
  /** Mean over levels, per channel. */
  meanPerChannel: number[];
  /** Descriptors per set and level (images used x neighbourhoods per image). */
  descriptors: number;
  params: Required<SwdOptions>;
}

const DEFAULTS: Required<SwdOptions> = {
  nhoodSize: 7,
  nhoodsPerImage: 128,
  dirRepeats: 4,
  dirsPerRepeat: 128,
  minSide: 16,
  seed: 0,
};

/** Descriptors of one set: per level a row-major [N][C][k][k] array, normalised per channel. */
function* descriptorsOf(set: ImageSet, nImages: number, p: Required<SwdOptions>, rng: Rng): Steps<Float32Array[]> {
  const k = p.nhoodSize;
  const half = k >> 1;
  const kk = k * k;
  const dim = set.c * kk;
  const order = rng.shuffle(Array.from({ length: set.n }, (_, i) => i)).slice(0, nImages);
  const nDesc = nImages * p.nhoodsPerImage;
  let levels: Float32Array[] = [];
  let plane: Float64Array | undefined;
  for (let ii = 0; ii < order.length; ii++) {
    const img = order[ii];
    // Neighbourhood centres are shared by the channels of an image (as in PGAN), drawn per level.
    let centres: Int32Array[] | undefined;
    for (let ch = 0; ch < set.c; ch++) {
      plane = channelPlane(set, img, ch, plane);
      const pyr = laplacianPyramid(plane, set.h, set.w, p.minSide);
      if (levels.length === 0) levels = pyr.map(() => new Float32Array(nDesc * dim));
      if (!centres)
        centres = pyr.map((lv) => {
          const c = new Int32Array(p.nhoodsPerImage * 2);
          for (let j = 0; j < p.nhoodsPerImage; j++) {
            c[2 * j] = half + rng.int(lv.h - 2 * half);
            c[2 * j + 1] = half + rng.int(lv.w - 2 * half);
          }
          return c;
        });
      pyr.forEach((lv, l) => {
        const out = levels[l];
        const cs = centres![l];
        for (let j = 0; j < p.nhoodsPerImage; j++) {
          const row = (ii * p.nhoodsPerImage + j) * dim + ch * kk;
          const cy = cs[2 * j];
          const cx = cs[2 * j + 1];
          let o = row;
          for (let dy = -half; dy <= half; dy++)
            for (let dx = -half; dx <= half; dx++) out[o++] = lv.data[(cy + dy) * lv.w + cx + dx];
        }
      });
    }
    yield;
  }
  // Per level and channel: zero mean, unit std over all descriptors of this set (PGAN finalize_descriptors).
  for (const d of levels)
    for (let ch = 0; ch < set.c; ch++) {
      let s = 0;
      let s2 = 0;
      for (let r = 0; r < nDesc; r++)
        for (let q = 0; q < kk; q++) {
          const v = d[r * dim + ch * kk + q];
          s += v;
          s2 += v * v;
        }
      const cnt = nDesc * kk;
      const m = s / cnt;
      const sd = Math.sqrt(Math.max(0, s2 / cnt - m * m));
      // A constant channel (e.g. an empty mask everywhere) has no spread: centre it and leave the scale.
      const inv = sd > 1e-12 ? 1 / sd : 1;
      for (let r = 0; r < nDesc; r++)
        for (let q = 0; q < kk; q++) {
          const i = r * dim + ch * kk + q;
          d[i] = (d[i] - m) * inv;
        }
      yield;
    }
  return levels;
}

/** SWD between descriptor arrays A, B (N rows each) restricted to columns [off, off+len) of rows of width dim. */
function* swd(
  A: Float32Array,
  B: Float32Array,
  n: number,
  dim: number,
  off: number,
  len: number,
  p: Required<SwdOptions>,
  rng: Rng,
): Steps<number> {
  const dir = new Float64Array(len);
  const pa = new Float32Array(n);
  const pb = new Float32Array(n);
  let total = 0;
  const nDirs = p.dirRepeats * p.dirsPerRepeat;
  for (let t = 0; t < nDirs; t++) {
    let norm = 0;
    for (let q = 0; q < len; q++) {
      dir[q] = rng.normal();
      norm += dir[q] * dir[q];
    }
    norm = Math.sqrt(norm);
    for (let q = 0; q < len; q++) dir[q] /= norm;
    for (let r = 0; r < n; r++) {
      let sa = 0;
      let sb = 0;
      const base = r * dim + off;
      for (let q = 0; q < len; q++) {
        sa += A[base + q] * dir[q];
        sb += B[base + q] * dir[q];
      }
      pa[r] = sa;
      pb[r] = sb;
    }
    pa.sort();
    pb.sort();
    let s = 0;
    for (let r = 0; r < n; r++) s += Math.abs(pa[r] - pb[r]);
    total += s / n;
    yield;
  }
  // Mean over repeats of the mean over directions = mean over all directions.
  return total / nDirs;
}

/**
 * SWD between two sets of images of the same size and channel count. Seeded: same inputs and seed give the
 * same value. When the sets differ in size, a seeded random subset of the larger set of the smaller set's size is used.
 */
export function slicedWassersteinDistance(a: ImageSet, b: ImageSet, options: SwdOptions = {}): SwdResult {
  return runSteps(slicedWassersteinSteps(a, b, options));
}

/** `slicedWassersteinDistance`, yielding to the event loop as it goes (for a process that serves or calls gRPC). */
export function slicedWassersteinDistanceAsync(
  a: ImageSet,
  b: ImageSet,
  options: SwdOptions = {},
  pace?: PaceOptions,
): Promise<SwdResult> {
  return runStepsPaced(slicedWassersteinSteps(a, b, options), pace);
}

/** The SWD as steps: one image's descriptors, or one direction's projection and sort, per step. */
export function* slicedWassersteinSteps(a: ImageSet, b: ImageSet, options: SwdOptions = {}): Steps<SwdResult> {
  const p = { ...DEFAULTS, ...options };
  checkImageSet("first image set", a, p.minSide);
  checkImageSet("second image set", b, p.minSide);
  checkCompatible(a, b, "sliced Wasserstein distance");
  if (p.nhoodSize % 2 !== 1 || p.nhoodSize > p.minSide)
    throw new InvalidInput(`neighbourhood size ${p.nhoodSize} must be odd and at most the smallest level ${p.minSide}`);
  const root = new Rng(p.seed);
  const rngA = root.fork();
  const rngB = root.fork();
  const rngDir = root.fork();
  const nImages = Math.min(a.n, b.n);
  const da = yield* descriptorsOf(a, nImages, p, rngA);
  const db = yield* descriptorsOf(b, nImages, p, rngB);
  const n = nImages * p.nhoodsPerImage;
  const kk = p.nhoodSize * p.nhoodSize;
  const dim = a.c * kk;
  const { h, w } = a;
  const levels: SwdLevel[] = [];
  for (let l = 0; l < da.length; l++) {
    const A = da[l];
    const B = db[l];
    const all = yield* swd(A, B, n, dim, 0, dim, p, rngDir);
    const perChannel: number[] = [];
    for (let ch = 0; ch < a.c; ch++) perChannel.push(yield* swd(A, B, n, dim, ch * kk, kk, p, rngDir));
    // Level sizes follow ceil-halving of the input.
    let lh = h;
    let lw = w;
    for (let i = 0; i < l; i++) {
      lh = Math.ceil(lh / 2);
      lw = Math.ceil(lw / 2);
    }
    levels.push({ h: lh, w: lw, all, perChannel });
  }
  const meanAll = levels.reduce((s, l) => s + l.all, 0) / levels.length;
  const meanPerChannel = Array.from(
    { length: a.c },
    (_, ch) => levels.reduce((s, l) => s + l.perChannel[ch], 0) / levels.length,
  );
  return { levels, meanAll, meanPerChannel, descriptors: n, params: p };
}
